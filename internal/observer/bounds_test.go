package observer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// fakeClock is the observer's now, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestIdleEndpointIsForgotten(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := New(0, WithIdleTTL(5*time.Minute))
	o.now = clock.now
	api := &fakeLister{}
	if _, err := get(t, o, api, clock.now(), "set"); err != nil {
		t.Fatal(err)
	}
	// Asked for every drift interval: kept however long that goes on.
	for range 20 {
		clock.advance(30 * time.Second)
		o.sweep()
		if _, err := get(t, o, api, time.Time{}, "drift"); err != nil || o.Len() != 1 {
			t.Fatalf("an endpoint asked for every 30 s was forgotten (err %v, %d endpoints)", err, o.Len())
		}
	}
	// Notify counts as asking too.
	clock.advance(4 * time.Minute)
	o.Notify("ep", "set", func() {})
	clock.advance(4 * time.Minute)
	o.sweep()
	if o.Len() != 1 {
		t.Fatal("an endpoint a set waits on (Notify) was forgotten")
	}
	// Nobody asks any more (its sets are gone, or its key rotated).
	clock.advance(time.Minute)
	o.sweep()
	if o.Len() != 0 {
		t.Fatalf("%d endpoints kept %s after the last Get or Notify", o.Len(), 5*time.Minute)
	}
	calls := api.calls.Load()
	if _, err := get(t, o, api, time.Time{}, "set"); err != nil || api.calls.Load() != calls+1 {
		t.Fatalf("asking again after being forgotten: err %v, %d list calls, want %d", err, api.calls.Load(), calls+1)
	}
}

func TestEndpointWithListRunningIsNotForgotten(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := New(0, WithIdleTTL(time.Minute))
	o.now = clock.now
	release := make(chan struct{})
	api := &blockingLister{release: release}
	woken := make(chan struct{})
	if _, err := o.GetProject("ep", api, Project{ID: testProject}, clock.now(), "set", func() { close(woken) }); !errors.Is(err, ErrPending) {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	o.sweep()
	if o.Len() != 1 {
		t.Fatal("an endpoint was forgotten while its list call ran")
	}
	close(release)
	<-woken
	snap, err := o.GetProject("ep", api, Project{ID: testProject}, time.Time{}, "set", nil)
	if err != nil || len(snap.Project(7)) != 1 {
		t.Fatalf("the waiter lost its list: %v %v", snap, err)
	}
}

func TestForget(t *testing.T) {
	o := New(0)
	api := &fakeLister{}
	if _, err := get(t, o, api, time.Now(), "set"); err != nil {
		t.Fatal(err)
	}
	o.Forget("ep")
	if o.Len() != 0 {
		t.Fatal("Forget kept the endpoint")
	}
	// A list running when forgotten still wakes its waiters; they then ask afresh.
	release := make(chan struct{})
	slow := &blockingLister{release: release}
	woken := make(chan struct{})
	if _, err := o.GetProject("ep", slow, Project{ID: testProject}, time.Now(), "set", func() { close(woken) }); !errors.Is(err, ErrPending) {
		t.Fatal(err)
	}
	o.Forget("ep")
	close(release)
	<-woken
	if o.Len() != 0 {
		t.Fatal("a forgotten endpoint came back when its list call ended")
	}
}

type blockingLister struct{ release chan struct{} }

func (b *blockingLister) ScanInstances(ctx context.Context, _ *talis.ListOptions, fn func(*talis.Instance) error) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return fn(&talis.Instance{ID: 1, ProjectID: 7, Status: talis.InstanceStatusReady})
}

func TestSnapshotKeepsBoundedRows(t *testing.T) {
	long := strings.Repeat("n", 200<<10)
	tags := []string{"tio-set=abc", long}
	for range 100 {
		tags = append(tags, "t")
	}
	s := newSnapshot(time.Now(), "https://talis.example#0123", 2, nil)
	in := &talis.Instance{ID: 1, ProjectID: 7, Status: talis.InstanceStatusReady, Name: long, PublicIP: long, ProviderID: long, Tags: tags}
	if err := s.add(in); err != nil {
		t.Fatal(err)
	}
	kept := s.Project(7)[0]
	if len(kept.Name) != maxFieldBytes || len(kept.PublicIP) != maxFieldBytes {
		t.Fatalf("kept %d, %d bytes of name and IP", len(kept.Name), len(kept.PublicIP))
	}
	if len(kept.Tags) != maxTags || kept.Tags[0] != "tio-set=abc" || kept.Tags[1] != "t" {
		t.Fatalf("kept %d tags, first %q %q", len(kept.Tags), kept.Tags[0], kept.Tags[1])
	}
	// Terminated rows cost nothing and do not count.
	if err := s.add(&talis.Instance{ID: 2, Status: talis.InstanceStatusTerminated}); err != nil {
		t.Fatal(err)
	}
	if err := s.add(&talis.Instance{ID: 3, ProjectID: 7, Status: talis.InstanceStatusPending}); err != nil {
		t.Fatal(err)
	}
	err := s.add(&talis.Instance{ID: 4, ProjectID: 7, Status: talis.InstanceStatusPending})
	if err == nil || !strings.Contains(err.Error(), "https://talis.example") || !strings.Contains(err.Error(), "more than 2 live instances") {
		t.Fatalf("a row over the bound: %v", err)
	}
}

// TestHostileListCostsBoundedHeap is the adversarial run's endpoint: 60 MiB of tiny valid rows,
// under the client's list bound. The snapshot would keep millions of them.
func TestHostileListCostsBoundedHeap(t *testing.T) {
	row := `{"ID":1,"project_id":7,"status":"ready"},`
	chunk := []byte(strings.Repeat(row, (32<<10)/len(row)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"rows":[`))
		for sent := 0; sent < 60<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`{"ID":2}]}`))
	}))
	defer srv.Close()
	c, err := talis.NewClient(&talis.Options{BaseURL: srv.URL, Retry: talis.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	o := New(0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = get(t, o, c, time.Now(), "set")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than 50000 live instances") {
		t.Fatalf("a list of millions of rows: %v", err)
	}
	// 50,000 kept rows of a few hundred bytes, and as many decoded and dropped.
	allocated := after.TotalAlloc - before.TotalAlloc
	if allocated > 64<<20 {
		t.Fatalf("refusing the list allocated %d MiB, want < 64 MiB", allocated>>20)
	}
	t.Logf("allocated %.1f MiB; %s", float64(allocated)/(1<<20), err)
}

// TestSlowEndpointDoesNotStarveOthers: one tenant's endpoint answers the list with headers and
// then nothing; another endpoint's lists go on being made and delivered meanwhile.
func TestSlowEndpointDoesNotStarveOthers(t *testing.T) {
	stuck, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"rows":[{"ID":1,"project_id":7,"status":"ready"},`))
		w.(http.Flusher).Flush()
		once.Do(func() { close(stuck) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	emu := emulator.New(emulator.Config{TasksPerSecond: -1})
	defer func() { _ = emu.Close() }()
	healthy := httptest.NewServer(emu.Handler())
	defer healthy.Close()

	// One HTTP client for both, as the manager shares one when given a CA bundle.
	shared := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	client := func(url string) *talis.APIClient {
		c, err := talis.NewClient(&talis.Options{BaseURL: url, HTTPClient: shared, Timeout: time.Hour, RateLimit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	slowAPI, healthyAPI := client(slow.URL), client(healthy.URL)
	ctx := context.Background()
	proj, err := healthyAPI.CreateProject(ctx, talis.ProjectCreateParams{Name: "p", OwnerID: talis.AdminOwnerID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := healthyAPI.CreateInstance(ctx, []talis.InstanceRequest{{OwnerID: talis.AdminOwnerID, Provider: "do",
		Region: "nyc1", Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64", ProjectName: "p", Name: "n", NumberOfInstances: 3,
		Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10}}}}); err != nil {
		t.Fatal(err)
	}

	o := New(0)
	if _, err := o.GetProject("slow", slowAPI, Project{ID: testProject}, time.Now(), "tenant-a", nil); !errors.Is(err, ErrPending) {
		t.Fatal(err)
	}
	<-stuck // the slow endpoint's list call is under way and will not end
	var last time.Time
	for i := range 3 {
		snap, err := getKeyProject(t, o, "healthy", healthyAPI, proj.ID, last.Add(time.Nanosecond), "tenant-b")
		if err != nil {
			t.Fatalf("list %d of the healthy endpoint: %v", i, err)
		}
		rows := 0
		for _, in := range snap.byProject {
			rows += len(in)
		}
		if rows != 3 {
			t.Fatalf("list %d of the healthy endpoint has %d rows, want 3", i, rows)
		}
		last = snap.StartedAt
	}
	o.mu.Lock()
	stillStuck := o.endpoints["slow"].inflight != nil
	o.mu.Unlock()
	if !stillStuck {
		t.Fatal("the slow endpoint's list ended: the test proved nothing")
	}
}

// getKey waits for a snapshot of testProject as a reconcile would: register, be woken, ask again.
func getKey(t *testing.T, o *Observer, key string, api Lister, notBefore time.Time, waiter any) (*Snapshot, error) {
	t.Helper()
	return getKeyProject(t, o, key, api, testProject, notBefore, waiter)
}

func getKeyProject(t *testing.T, o *Observer, key string, api Lister, project uint, notBefore time.Time, waiter any) (*Snapshot, error) {
	t.Helper()
	for range 100 {
		woken := make(chan struct{})
		var once sync.Once
		snap, err := o.GetProject(key, api, Project{ID: project}, notBefore, waiter, func() { once.Do(func() { close(woken) }) })
		if !errors.Is(err, ErrPending) {
			return snap, err
		}
		select {
		case <-woken:
		case <-time.After(5 * time.Second):
			t.Fatal("never woken")
		}
	}
	t.Fatal("no snapshot after 100 wake-ups")
	return nil, nil
}
