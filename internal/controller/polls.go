package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// pollTracker remembers, per set, the last snapshot it acted on and its current poll interval.
// It lives in memory only: after a restart every set simply starts from a fresh snapshot.
type pollTracker struct {
	mu    sync.Mutex
	state map[client.ObjectKey]*pollState
	min   time.Duration
	max   time.Duration
}

type pollState struct {
	lastSnapshot time.Time
	interval     time.Duration
}

func (t *pollTracker) get(key client.ObjectKey) *pollState {
	if t.state == nil {
		t.state = map[client.ObjectKey]*pollState{}
	}
	ps := t.state[key]
	if ps == nil {
		ps = &pollState{}
		t.state[key] = ps
	}
	return ps
}

// notBefore is the oldest snapshot a reconcile may act on. A user's edit may act on any snapshot
// taken since the set existed (nothing it has not recorded can be newer); a poll needs news.
func (t *pollTracker) notBefore(key client.ObjectKey, s *infrav1.TalisInstanceSet) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.get(key)
	created := s.CreationTimestamp.Time
	if s.Generation != s.Status.ObservedGeneration || ps.lastSnapshot.IsZero() {
		if ps.lastSnapshot.After(created) {
			return ps.lastSnapshot
		}
		return created
	}
	return ps.lastSnapshot.Add(time.Nanosecond)
}

func (t *pollTracker) used(key client.ObjectKey, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(key).lastSnapshot = at
}

// next returns the poll interval while something is progressing: it starts at min and doubles
// up to max; changed starts it over, since a set that just moved is likely to move again soon.
func (t *pollTracker) next(key client.ObjectKey, changed bool) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.get(key)
	if ps.interval == 0 || changed {
		ps.interval = t.min
	} else {
		ps.interval = min(2*ps.interval, t.max)
	}
	return ps.interval
}

// steady resets the backoff once the set is settled.
func (t *pollTracker) steady(key client.ObjectKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(key).interval = 0
}

func (t *pollTracker) forget(key client.ObjectKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.state, key)
}

// waker enqueues sets from outside the informers: the observer wakes the sets that waited for
// an instance list once it has been made.
type waker struct {
	mu  sync.Mutex
	ctx context.Context
	q   workqueue.TypedRateLimitingInterface[reconcile.Request]
}

func (w *waker) start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx, w.q = ctx, q
}

// context lives as long as the controller (Background when driven by hand).
func (w *waker) context() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return context.Background()
	}
	return w.ctx
}

func (w *waker) started() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.q != nil
}

func (w *waker) wake(key client.ObjectKey) {
	w.mu.Lock()
	q := w.q
	w.mu.Unlock()
	if q != nil {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// createLog remembers when this process last sent a create call for each set identity, and
// since when it has been acting. Instances of an identity can only appear through a create
// call, so a snapshot that started after the last call that could still land (ours, or one an
// earlier process sent before this one started acting) shows every instance the identity has:
// a new set can decide with any such snapshot instead of waiting for a list taken after it was
// created.
type createLog struct {
	mu      sync.Mutex
	started time.Time
	floor   time.Time // the newest entry ever pruned
	sent    map[string]time.Time
}

const createLogPrune = 4096

func (l *createLog) start(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started = at
}

// sending records a create call for identity; call it before the call can be sent.
func (l *createLog) sending(identity string, at time.Time, ambiguity time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string]time.Time{}
	}
	l.sent[identity] = at
	if len(l.sent) > createLogPrune {
		for id, t := range l.sent {
			if at.Sub(t) > 2*ambiguity {
				delete(l.sent, id)
				if t.After(l.floor) {
					l.floor = t
				}
			}
		}
	}
}

// completeAfter is when a snapshot must have started to show every instance of identity; the
// zero time means unknown (the controller has not started).
func (l *createLog) completeAfter(identity string, ambiguity time.Duration) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.IsZero() {
		return time.Time{}
	}
	t := l.started
	if l.floor.After(t) {
		t = l.floor
	}
	if s, ok := l.sent[identity]; ok && s.After(t) {
		t = s
	}
	return t.Add(ambiguity + timestampPrecision)
}

// writeTracker remembers, per set, the resourceVersions this process has written over since
// the cache last caught up. The cache never goes back, so a cached version that is one of them
// is older than this process's own last write, and any other version is not.
type writeTracker struct {
	mu         sync.Mutex
	superseded map[client.ObjectKey]map[string]bool
}

func (t *writeTracker) wrote(key client.ObjectKey, oldRV string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.superseded == nil {
		t.superseded = map[client.ObjectKey]map[string]bool{}
	}
	if t.superseded[key] == nil {
		t.superseded[key] = map[string]bool{}
	}
	t.superseded[key][oldRV] = true
}

// stale reports whether the cached version rv has been written over; when it has not, the
// cache has caught up and the remembered versions are dropped.
func (t *writeTracker) stale(key client.ObjectKey, rv string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.superseded[key][rv] {
		return true
	}
	delete(t.superseded, key)
	return false
}

func (t *writeTracker) forget(key client.ObjectKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.superseded, key)
}

// createResults holds, per set, the outcome of its last create call until a reconcile has
// dealt with it. Memory only: after a restart the instances are found by their tags.
type createResults struct {
	mu sync.Mutex
	m  map[client.ObjectKey]createResult
}

type createResult struct {
	attempt   int64
	instances []infrav1.TalisInstance // err == nil
	err       error
}

func (c *createResults) put(key client.ObjectKey, res createResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[client.ObjectKey]createResult{}
	}
	c.m[key] = res
}

// outcome returns the held outcome of the create status still has an intent for; an outcome
// whose intent is gone is dropped.
func (c *createResults) outcome(key client.ObjectKey, st *infrav1.TalisInstanceSetStatus) (createResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res, ok := c.m[key]
	if !ok {
		return createResult{}, false
	}
	if st.PendingCreate == nil || st.PendingCreate.Attempt != res.attempt {
		if st.LastCreateAttempt >= res.attempt {
			delete(c.m, key) // recorded or resolved already
		}
		return createResult{}, false
	}
	return res, true
}

// apply folds a held successful outcome into status, and returns its attempt (0 if none).
func (c *createResults) apply(key client.ObjectKey, st *infrav1.TalisInstanceSetStatus) int64 {
	res, ok := c.outcome(key, st)
	if !ok || res.err != nil {
		return 0
	}
	st.PendingCreate = nil
	known := map[int64]bool{}
	for _, in := range st.Instances {
		known[in.ID] = true
	}
	for _, in := range res.instances {
		if !known[in.ID] {
			st.Instances = append(st.Instances, *in.DeepCopy())
		}
	}
	return res.attempt
}

func (c *createResults) drop(key client.ObjectKey, attempt int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res, ok := c.m[key]; ok && res.attempt == attempt {
		delete(c.m, key)
	}
}
