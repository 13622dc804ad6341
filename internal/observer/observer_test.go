package observer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

type fakeLister struct {
	calls atomic.Int64
	delay time.Duration
	mu    sync.Mutex
	err   error
}

func (f *fakeLister) fail(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *fakeLister) ScanInstances(_ context.Context, _ *talis.ListOptions, fn func(*talis.Instance) error) error {
	f.calls.Add(1)
	time.Sleep(f.delay)
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return fn(&talis.Instance{ID: 1, ProjectID: 7, Status: talis.InstanceStatusReady})
}

// get waits for a snapshot of the endpoint "ep" as a reconcile would.
func get(t *testing.T, o *Observer, api Lister, notBefore time.Time, waiter any) (*Snapshot, error) {
	t.Helper()
	return getKey(t, o, "ep", api, notBefore, waiter)
}

func TestOneListServesEveryWaiter(t *testing.T) {
	o := New(50 * time.Millisecond)
	api := &fakeLister{delay: 20 * time.Millisecond}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snap, err := get(t, o, api, start, i)
			if err != nil || snap == nil || len(snap.Project(7)) != 1 {
				t.Errorf("waiter %d: %v %v", i, snap, err)
			}
		}()
	}
	wg.Wait()
	if n := api.calls.Load(); n > 2 {
		t.Fatalf("%d list calls for 200 waiters, want 1 (2 if one arrived while it ran)", n)
	}
}

func TestListsRespectMinInterval(t *testing.T) {
	o := New(100 * time.Millisecond)
	api := &fakeLister{}
	var last time.Time
	begin := time.Now()
	for range 4 {
		snap, err := get(t, o, api, last.Add(time.Nanosecond), "w")
		if err != nil {
			t.Fatal(err)
		}
		last = snap.StartedAt
	}
	if el := time.Since(begin); el < 300*time.Millisecond {
		t.Fatalf("4 fresh snapshots in %s, want at least 3 intervals", el)
	}
	if got := api.calls.Load(); got != 4 {
		t.Fatalf("%d calls, want 4", got)
	}
}

func TestListErrorReachesEachWaiterOnce(t *testing.T) {
	o := New(0)
	boom := errors.New("boom")
	api := &fakeLister{err: boom}
	if _, err := get(t, o, api, time.Now(), "a"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	// The next request arranges a new call instead of repeating the old error.
	api.err = nil
	snap, err := get(t, o, api, time.Now(), "a")
	if err != nil || snap == nil {
		t.Fatalf("after recovery: %v %v", snap, err)
	}
}

// A key Talis refuses after a good list must reach every caller, even one an older snapshot
// would satisfy (a steady set woken by the drift poll), until a list works again.
func TestRefusedKeyHidesNoOlderSnapshot(t *testing.T) {
	o := New(0)
	api := &fakeLister{}
	before := time.Now()
	if _, err := get(t, o, api, before, "a"); err != nil {
		t.Fatal(err)
	}
	api.fail(&talis.APIError{StatusCode: 401, Message: "invalid API key"})
	if _, err := get(t, o, api, time.Now(), "drift"); !talis.IsUnauthorized(err) {
		t.Fatalf("the list after revocation: %v", err)
	}
	if _, err := o.GetProject("ep", api, Project{ID: testProject}, before, "b", nil); !talis.IsUnauthorized(err) {
		t.Fatalf("a caller content with the older snapshot got %v, want the refusal", err)
	}
	api.fail(nil)
	var snap *Snapshot
	for range 100 { // the refusal arranged a new list; it clears once that one works
		s, err := o.GetProject("ep", api, Project{ID: testProject}, before, "b", nil)
		if err == nil {
			snap = s
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if snap == nil {
		t.Fatal("a restored key was never seen")
	}
}

// testProject is the project of the fake listers' rows, which the tests ask for.
const testProject = 7
