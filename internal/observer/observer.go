package observer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Lister is the one Talis call the observer makes. Rows are taken as they are decoded: an
// endpoint's whole list is never held, only the trimmed rows the snapshot keeps.
type Lister interface {
	ScanInstances(ctx context.Context, opts *talis.ListOptions, fn func(*talis.Instance) error) error
}

// ErrPending is returned by Get when no snapshot is fresh enough yet: a list call has been
// arranged and the caller's wake function runs once it has finished.
var ErrPending = errors.New("waiting for a fresh instance list")

// Observer coalesces list calls per endpoint: callers ask for a snapshot that started no earlier
// than a given time; all callers waiting at once share one call, and no caller blocks while it
// is made. A reconcile that needs news registers itself and returns; the list call wakes every
// registered caller when it finishes, so one call serves any number of sets.
type Observer struct {
	minInterval time.Duration
	now         func() time.Time

	mu        sync.Mutex
	ctx       context.Context
	endpoints map[string]*endpoint
}

type endpoint struct {
	key       string
	api       Lister
	latest    *Snapshot
	lastStart time.Time
	inflight  *fetch // being made
	next      *fetch // to be made after inflight, or once minInterval has passed
	timer     bool   // a timer will start next
	// failed holds, per waiter, the error of the call it waited for, until it comes back.
	failed map[any]error
	// passive waiters are woken by the next list call, but do not cause one.
	passive map[any]func()
	// refused is the error of the newest list call, when Talis refused its key (401/403) after
	// the latest snapshot: a revoked key must reach every caller, not hide behind an older list.
	refused error
}

type fetch struct {
	startedAt time.Time
	waiters   map[any]func()
}

// New returns an observer that starts at most one list call per endpoint every minInterval.
func New(minInterval time.Duration) *Observer {
	return &Observer{minInterval: minInterval, now: time.Now, endpoints: map[string]*endpoint{}}
}

// Start bounds the observer's list calls by ctx (the manager's lifetime); it implements
// manager.Runnable.
func (o *Observer) Start(ctx context.Context) error {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Get returns a snapshot of the endpoint named key whose list call started at or after
// notBefore. When there is none, it arranges one (at most one call per minInterval, shared by
// every caller) and returns ErrPending; wake is then called once that call has finished. If it
// failed, the waiter's next Get returns its error once. waiter identifies the caller (a set).
func (o *Observer) Get(key string, api Lister, notBefore time.Time, waiter any, wake func()) (*Snapshot, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ep := o.endpoints[key]
	if ep == nil {
		ep = &endpoint{key: key, failed: map[any]error{}, passive: map[any]func(){}}
		o.endpoints[key] = ep
	}
	ep.api = api
	if ep.refused != nil {
		// Try again, so that a restored key is seen; the caller retries on its own clock.
		delete(ep.failed, waiter)
		if ep.next == nil {
			ep.next = &fetch{waiters: map[any]func(){}}
		}
		o.schedule(ep)
		return nil, ep.refused
	}
	if ep.latest != nil && !ep.latest.StartedAt.Before(notBefore) {
		delete(ep.failed, waiter)
		return ep.latest, nil
	}
	if err, ok := ep.failed[waiter]; ok {
		delete(ep.failed, waiter)
		return nil, err
	}
	if f := ep.inflight; f != nil && !f.startedAt.Before(notBefore) {
		f.waiters[waiter] = wake
		return nil, ErrPending
	}
	if ep.next == nil {
		ep.next = &fetch{waiters: map[any]func(){}}
	}
	ep.next.waiters[waiter] = wake
	o.schedule(ep)
	return nil, ErrPending
}

// schedule starts ep.next now or arms a timer for when minInterval allows it; o.mu is held.
func (o *Observer) schedule(ep *endpoint) {
	if ep.next == nil || ep.inflight != nil || ep.timer {
		return
	}
	if gap := o.minInterval - o.now().Sub(ep.lastStart); gap > 0 {
		ep.timer = true
		time.AfterFunc(gap, func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			ep.timer = false
			o.schedule(ep)
		})
		return
	}
	f := ep.next
	ep.next = nil
	for w, wake := range ep.passive {
		if _, ok := f.waiters[w]; !ok {
			f.waiters[w] = wake
		}
	}
	clear(ep.passive)
	f.startedAt = o.now()
	ep.inflight, ep.lastStart = f, f.startedAt
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	go o.run(ctx, ep, ep.api, f)
}

func (o *Observer) run(ctx context.Context, ep *endpoint, api Lister, f *fetch) {
	snap := newSnapshot(f.startedAt)
	err := api.ScanInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit}, snap.add)
	o.mu.Lock()
	if err == nil {
		if ep.latest == nil || snap.StartedAt.After(ep.latest.StartedAt) {
			ep.latest = snap
			ep.refused = nil
		}
	} else {
		for w := range f.waiters {
			ep.failed[w] = err
		}
		if talis.IsUnauthorized(err) && (ep.latest == nil || f.startedAt.After(ep.latest.StartedAt)) {
			ep.refused = err
		}
	}
	ep.inflight = nil
	o.schedule(ep)
	o.mu.Unlock()
	for _, wake := range f.waiters {
		if wake != nil {
			wake()
		}
	}
}

// Notify wakes waiter when the endpoint's next list call (one that has not started yet) has
// finished, without arranging one: a set that is still progressing sees every list that other
// sets' polls cause, at no extra Talis call, and keeps its own, backing-off schedule for when
// none comes. The endpoint must have been asked for by Get before.
func (o *Observer) Notify(key string, waiter any, wake func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ep := o.endpoints[key]; ep != nil {
		if ep.next != nil {
			ep.next.waiters[waiter] = wake
			return
		}
		ep.passive[waiter] = wake
	}
}
