package observer

import (
	"context"
	"errors"
	"maps"
	"slices"
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
	idleTTL     time.Duration
	maxRows     int
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
	lastUsed  time.Time // last Get or Notify
	gone      bool      // forgotten: calls still running end without a successor
	inflight  *fetch    // being made
	next      *fetch    // to be made after inflight, or once minInterval has passed
	timer     bool      // a timer will start next
	// failed holds, per waiter, the error of the call it waited for, until it comes back.
	failed map[any]error
	// passive waiters are woken by the next list call, but do not cause one.
	passive map[any]func()
	// refused is the error of the newest list call, when Talis refused its key (401/403) after
	// the latest snapshot: a revoked key must reach every caller, not hide behind an older list.
	refused error
	// projects are the projects callers asked for: a list keeps their rows only. It only grows
	// while the endpoint is kept, so a newer snapshot covers all an older one did.
	projects map[uint]Project
	narrow   narrowing
}

type fetch struct {
	startedAt time.Time
	waiters   map[any]func()
	projects  map[uint]bool // what the call keeps, fixed when it starts
	pages     []Project     // page through these projects instead of listing the endpoint, if set
	pager     ProjectPager  // with this client
}

// DefaultIdleTTL is how long an endpoint's snapshot is kept after the last Get or Notify for
// it. Every endpoint with sets is asked at least every --drift-interval (30 s) by the drift
// watch, and progressing sets ask on each poll (at most 30 s apart): five minutes is ten of
// those, so only an endpoint no object uses any more (its sets deleted, its key rotated) is
// forgotten, and forgetting wrongly costs one list call.
const DefaultIdleTTL = 5 * time.Minute

// DefaultMaxRows is the most live instances of the operator's projects a snapshot keeps for one
// endpoint: the 50,000 rows one unpaged list is planned for (see talis.DefaultMaxListBytes,
// which bounds the whole body, other people's rows included). A list with more fails with an
// error naming the endpoint, so a hostile endpoint of tiny rows costs a bounded heap.
const DefaultMaxRows = 50_000

// Option configures an Observer.
type Option func(*Observer)

// WithIdleTTL sets how long an endpoint nobody asks for keeps its snapshot (DefaultIdleTTL);
// 0 keeps it until Forget.
func WithIdleTTL(d time.Duration) Option { return func(o *Observer) { o.idleTTL = d } }

// WithMaxRows sets the most live instances one endpoint's snapshot keeps (DefaultMaxRows).
func WithMaxRows(n int) Option { return func(o *Observer) { o.maxRows = n } }

// New returns an observer that starts at most one list call per endpoint every minInterval.
func New(minInterval time.Duration, opts ...Option) *Observer {
	o := &Observer{minInterval: minInterval, idleTTL: DefaultIdleTTL, maxRows: DefaultMaxRows, now: time.Now,
		endpoints: map[string]*endpoint{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Start bounds the observer's list calls by ctx (the manager's lifetime) and forgets idle
// endpoints until it ends; it implements manager.Runnable.
func (o *Observer) Start(ctx context.Context) error {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
	if o.idleTTL <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(max(o.idleTTL/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			o.sweep()
		}
	}
}

// sweep forgets the endpoints nobody has asked for within the idle TTL and that have no list
// call running or arranged.
func (o *Observer) sweep() {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	for key, ep := range o.endpoints {
		if now.Sub(ep.lastUsed) >= o.idleTTL && ep.inflight == nil && ep.next == nil && !ep.timer {
			delete(o.endpoints, key)
		}
	}
}

// Forget drops what the observer keeps of the endpoint named key: its snapshot and waiters.
// A list call still running for it finishes, and wakes its waiters, who then ask afresh.
func (o *Observer) Forget(key string) {
	o.mu.Lock()
	ep := o.endpoints[key]
	delete(o.endpoints, key)
	var wakes []func()
	if ep != nil {
		ep.gone = true
		if ep.next != nil && !ep.timer {
			wakes = slices.Collect(maps.Values(ep.next.waiters))
			ep.next = nil
		}
	}
	o.mu.Unlock()
	for _, wake := range wakes {
		if wake != nil {
			wake()
		}
	}
}

// Len is the number of endpoints whose snapshot or waiters are kept.
func (o *Observer) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.endpoints)
}

// Get returns a snapshot of the endpoint named key whose list call started at or after
// notBefore, whatever projects it covers: for callers that look across projects and check
// Covers. When there is none, it arranges one (at most one call per minInterval, shared by
// every caller) and returns ErrPending; wake is then called once that call has finished. If it
// failed, the waiter's next Get returns its error once. waiter identifies the caller (a set).
func (o *Observer) Get(key string, api Lister, notBefore time.Time, waiter any, wake func()) (*Snapshot, error) {
	return o.GetProject(key, api, Project{}, notBefore, waiter, wake)
}

// GetProject is Get for a snapshot that covers project: the first call for a project makes
// the endpoint's lists keep its rows from then on, and waits for a list that does.
func (o *Observer) GetProject(key string, api Lister, project Project, notBefore time.Time, waiter any, wake func()) (*Snapshot, error) {
	projectID := project.ID
	o.mu.Lock()
	defer o.mu.Unlock()
	ep := o.endpoints[key]
	if ep == nil {
		ep = &endpoint{key: key, failed: map[any]error{}, passive: map[any]func(){}, projects: map[uint]Project{}}
		o.endpoints[key] = ep
	}
	ep.api, ep.lastUsed = api, o.now()
	if projectID != 0 {
		ep.projects[projectID] = project // the newest name and owner it is known by
	}
	if ep.refused != nil {
		// Try again, so that a restored key is seen; the caller retries on its own clock.
		delete(ep.failed, waiter)
		if ep.next == nil {
			ep.next = &fetch{waiters: map[any]func(){}}
		}
		o.schedule(ep)
		return nil, ep.refused
	}
	if ep.latest != nil && !ep.latest.StartedAt.Before(notBefore) && ep.latest.Covers(projectID) {
		delete(ep.failed, waiter)
		return ep.latest, nil
	}
	if err, ok := ep.failed[waiter]; ok {
		delete(ep.failed, waiter)
		return nil, err
	}
	if f := ep.inflight; f != nil && !f.startedAt.Before(notBefore) && (projectID == 0 || f.projects[projectID]) {
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
// Waiters of a forgotten endpoint are returned, to be woken once o.mu is released.
func (o *Observer) schedule(ep *endpoint) []func() {
	if ep.next == nil || ep.inflight != nil || ep.timer {
		return nil
	}
	if ep.gone {
		wakes := slices.Collect(maps.Values(ep.next.waiters))
		ep.next = nil
		return wakes
	}
	if gap := o.minInterval - o.now().Sub(ep.lastStart); gap > 0 {
		ep.timer = true
		time.AfterFunc(gap, func() {
			o.mu.Lock()
			ep.timer = false
			wakes := o.schedule(ep)
			o.mu.Unlock()
			wakeAll(wakes)
		})
		return nil
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
	f.projects = make(map[uint]bool, len(ep.projects))
	for id := range ep.projects {
		f.projects[id] = true
	}
	f.pager, f.pages = o.pagesFor(ep)
	ep.inflight, ep.lastStart = f, f.startedAt
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	go o.run(ctx, ep, ep.api, f)
	return nil
}

func (o *Observer) run(ctx context.Context, ep *endpoint, api Lister, f *fetch) {
	snap, pass, passErr := o.pass(ctx, ep.key, f)
	var err error
	allRows := 0
	if !pass.complete {
		snap = newSnapshot(f.startedAt, ep.key, o.maxRows, f.projects)
		err = api.ScanInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit}, func(in *talis.Instance) error {
			allRows++
			return snap.add(in)
		})
	}
	o.mu.Lock()
	o.measured(ep, pass, passErr, allRows, err)
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
	wakes := o.schedule(ep)
	o.mu.Unlock()
	wakeAll(wakes)
	wakeAll(slices.Collect(maps.Values(f.waiters)))
}

func wakeAll(wakes []func()) {
	for _, wake := range wakes {
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
		ep.lastUsed = o.now()
		if ep.next != nil {
			ep.next.waiters[waiter] = wake
			return
		}
		ep.passive[waiter] = wake
	}
}
