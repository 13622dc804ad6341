package observer

import (
	"context"
	"sync"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Lister is the one Talis call the observer makes.
type Lister interface {
	GetInstances(ctx context.Context, opts *talis.ListOptions) ([]*talis.Instance, error)
}

// Observer coalesces list calls per endpoint: callers ask for a snapshot that started no earlier
// than a given time, and all callers waiting at once share one call.
type Observer struct {
	minInterval time.Duration
	now         func() time.Time

	mu        sync.Mutex
	endpoints map[string]*endpoint
}

type endpoint struct {
	latest    *Snapshot
	inflight  *fetch
	lastStart time.Time
}

type fetch struct {
	startedAt time.Time
	done      chan struct{}
	snap      *Snapshot
	err       error
}

// New returns an observer that starts at most one list call per endpoint every minInterval.
func New(minInterval time.Duration) *Observer {
	return &Observer{minInterval: minInterval, now: time.Now, endpoints: map[string]*endpoint{}}
}

// Get returns a snapshot of the endpoint named key whose list call started at or after notBefore.
func (o *Observer) Get(ctx context.Context, key string, api Lister, notBefore time.Time) (*Snapshot, error) {
	for {
		o.mu.Lock()
		ep := o.endpoints[key]
		if ep == nil {
			ep = &endpoint{}
			o.endpoints[key] = ep
		}
		if ep.latest != nil && !ep.latest.StartedAt.Before(notBefore) {
			snap := ep.latest
			o.mu.Unlock()
			return snap, nil
		}
		if f := ep.inflight; f != nil {
			o.mu.Unlock()
			if err := wait(ctx, f.done); err != nil {
				return nil, err
			}
			if !f.startedAt.Before(notBefore) {
				return f.snap, f.err
			}
			continue
		}
		if gap := o.minInterval - o.now().Sub(ep.lastStart); gap > 0 {
			o.mu.Unlock()
			if err := sleep(ctx, gap); err != nil {
				return nil, err
			}
			continue
		}
		f := &fetch{startedAt: o.now(), done: make(chan struct{})}
		ep.inflight, ep.lastStart = f, f.startedAt
		o.mu.Unlock()

		rows, err := api.GetInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit})
		o.mu.Lock()
		if err == nil {
			f.snap = newSnapshot(f.startedAt, rows)
			ep.latest = f.snap
		}
		f.err = err
		ep.inflight = nil
		close(f.done)
		o.mu.Unlock()
		return f.snap, f.err
	}
}

// Latest returns the newest snapshot of an endpoint without calling Talis, or nil.
func (o *Observer) Latest(key string) *Snapshot {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ep := o.endpoints[key]; ep != nil {
		return ep.latest
	}
	return nil
}

func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
