package creates

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

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

// create submits req and waits for its outcome, as a reconcile's later poll would see it.
func create(b *Batcher, api Creator, req talis.InstanceRequest, deadline time.Time) ([]*talis.Instance, error) {
	type result struct {
		created []*talis.Instance
		err     error
	}
	ch := make(chan result, 1)
	b.Submit(context.Background(), "ep", api, req, deadline, func(c []*talis.Instance, err error) { ch <- result{c, err} })
	r := <-ch
	return r.created, r.err
}

func inAMinute() time.Time { return time.Now().Add(time.Minute) }

func TestBatcherGroupsConcurrentCreates(t *testing.T) {
	b := &Batcher{}
	api := &fakeCreator{delay: 30 * time.Millisecond}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := create(b, api, req(i), inAMinute())
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
		go func() { defer wg.Done(); _, _ = create(b, api, req(i), inAMinute()) }()
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
	b := &Batcher{}
	api := &fakeCreator{delay: 20 * time.Millisecond, reject: "s3"}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = create(b, api, req(i), inAMinute()) }()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 3) != talis.IsInvalid(err) {
			t.Errorf("set %d: %v", i, err)
		}
	}
}

func TestBatcherDeadlineEndsTheCall(t *testing.T) {
	b := &Batcher{}
	api := &fakeCreator{delay: time.Second}
	start := time.Now()
	_, err := create(b, api, req(1), time.Now().Add(50*time.Millisecond))
	if err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("call not cut at its deadline: %v after %s", err, time.Since(start))
	}
}

// A request that waited past its deadline behind a slow call is answered without being sent:
// its caller's "not applied" verdict, taken once the deadline and Talis's processing time have
// passed, must never meet a create that is sent after it.
func TestBatcherNeverSendsARequestPastItsDeadline(t *testing.T) {
	b := &Batcher{}
	api := &fakeCreator{delay: 200 * time.Millisecond}
	first := make(chan error, 1)
	b.Submit(context.Background(), "ep", api, req(1), inAMinute(), func(_ []*talis.Instance, err error) { first <- err })
	time.Sleep(20 * time.Millisecond) // the first call is in flight
	_, err := create(b, api, req(2), time.Now().Add(50*time.Millisecond))
	if !errors.Is(err, talis.ErrDeadlinePassed) || talis.IsAmbiguous(err) {
		t.Fatalf("queued request past its deadline: %v (ambiguous %v), want ErrDeadlinePassed", err, talis.IsAmbiguous(err))
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, c := range api.calls {
		for _, r := range c {
			if r.Name == req(2).Name {
				t.Fatal("the expired request was sent")
			}
		}
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
