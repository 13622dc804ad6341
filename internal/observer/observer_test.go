package observer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

type fakeLister struct {
	calls atomic.Int64
	delay time.Duration
	err   error
}

func (f *fakeLister) ScanInstances(_ context.Context, _ *talis.ListOptions, fn func(*talis.Instance) error) error {
	f.calls.Add(1)
	time.Sleep(f.delay)
	if f.err != nil {
		return f.err
	}
	return fn(&talis.Instance{ID: 1, ProjectID: 7, Status: talis.InstanceStatusReady})
}

// get waits for a snapshot as a reconcile would: register, be woken, ask again.
func get(t *testing.T, o *Observer, api Lister, notBefore time.Time, waiter any) (*Snapshot, error) {
	t.Helper()
	for range 100 {
		woken := make(chan struct{})
		var once sync.Once
		snap, err := o.Get("ep", api, notBefore, waiter, func() { once.Do(func() { close(woken) }) })
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

type fakeCreator struct {
	mu     sync.Mutex
	calls  [][]talis.InstanceRequest
	delay  time.Duration
	reject string // a request with this name makes the whole call invalid
	next   uint
}

func (f *fakeCreator) CreateInstance(ctx context.Context, reqs []talis.InstanceRequest) ([]*talis.Instance, error) {
	f.mu.Lock()
	f.calls = append(f.calls, reqs)
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var out []*talis.Instance
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range reqs {
		if r.Name == f.reject && f.reject != "" {
			return nil, &talis.APIError{StatusCode: 400, Message: "invalid region"}
		}
		for range r.NumberOfInstances {
			f.next++
			out = append(out, &talis.Instance{ID: f.next, Name: r.Name, Tags: r.Tags})
		}
	}
	return out, nil
}

func req(i int) talis.InstanceRequest {
	return talis.InstanceRequest{Name: fmt.Sprintf("s%d", i), NumberOfInstances: 3,
		Tags: []string{"tio-set:" + fmt.Sprint(i), "tio-try:1"}}
}

func TestBatcherGroupsConcurrentCreates(t *testing.T) {
	b := NewBatcher(time.Minute)
	api := &fakeCreator{delay: 30 * time.Millisecond}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Create(context.Background(), "ep", api, req(i))
			if err != nil || len(got) != 3 {
				t.Errorf("set %d: %d instances, %v", i, len(got), err)
				return
			}
			for _, in := range got {
				if in.Name != fmt.Sprintf("s%d", i) {
					t.Errorf("set %d got instance of %s", i, in.Name)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(api.calls); n >= 20 {
		t.Fatalf("%d create calls for 100 concurrent sets, want them grouped", n)
	}
}

func TestBatcherCapsInstancesPerCall(t *testing.T) {
	b := &Batcher{MaxInstances: 9}
	api := &fakeCreator{delay: 20 * time.Millisecond}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Create(context.Background(), "ep", api, req(i)) }()
	}
	wg.Wait()
	for _, c := range api.calls {
		total := 0
		for _, r := range c {
			total += r.NumberOfInstances
		}
		if total > 9 {
			t.Fatalf("a call asked for %d instances, cap is 9", total)
		}
	}
}

func TestBatcherIsolatesARejectedRequest(t *testing.T) {
	b := NewBatcher(time.Minute)
	api := &fakeCreator{delay: 20 * time.Millisecond, reject: "s3"}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = b.Create(context.Background(), "ep", api, req(i)) }()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 3) != talis.IsInvalid(err) {
			t.Errorf("set %d: %v", i, err)
		}
	}
}

func TestBatcherBudgetEndsTheCall(t *testing.T) {
	b := NewBatcher(50 * time.Millisecond)
	api := &fakeCreator{delay: time.Second}
	start := time.Now()
	_, err := b.Create(context.Background(), "ep", api, req(1))
	if err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("call not cut at its budget: %v after %s", err, time.Since(start))
	}
}

func TestDistributeMatchesByTagsWhenOrderDiffers(t *testing.T) {
	ops := []*createOp{{req: req(1)}, {req: req(2)}}
	rows := []*talis.Instance{
		{ID: 4, Tags: req(2).Tags}, {ID: 1, Tags: req(1).Tags}, {ID: 5, Tags: req(2).Tags},
		{ID: 2, Tags: req(1).Tags}, {ID: 6, Tags: req(2).Tags}, {ID: 3, Tags: req(1).Tags},
	}
	shares, err := distribute(ops, rows)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range [][]uint{{1, 2, 3}, {4, 5, 6}} {
		for i, in := range shares[k] {
			if in.ID != want[i] {
				t.Fatalf("request %d got %v", k, shares[k])
			}
		}
	}
	if _, err := distribute(ops, rows[:5]); !errors.Is(err, ErrUnmatchedResult) || !talis.IsAmbiguous(err) {
		t.Fatalf("short result: %v (ambiguous: %v)", err, talis.IsAmbiguous(err))
	}
}
