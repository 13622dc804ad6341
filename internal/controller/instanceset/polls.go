package instanceset

import (
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

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
