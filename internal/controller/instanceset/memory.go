package instanceset

import (
	"slices"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// setMemory is what this process remembers of one set between its reconciles. It lives in
// memory only: after a restart every set starts from a fresh snapshot, a fresh cache and no
// pacing, which is always safe.
type setMemory struct {
	// lastSnapshot is the start of the last instance list a reconcile acted on.
	lastSnapshot time.Time
	// pollInterval is the backoff of polls while something progresses; 0 when steady.
	pollInterval time.Duration
	// superseded are the resourceVersions this process wrote over since the cache last caught
	// up. The cache never goes back, so a cached version among them is older than this
	// process's own last write, and any other version is not. A few are kept (a slice, not a
	// map: every set holds one after its last write): forgetting one only costs a conflict.
	superseded []string
	// lastWrite is when status was last written, to space out writes that only add detail.
	lastWrite time.Time
	// toldDeleteInstances is the misread delete-instances value last warned about: told once,
	// not at every poll.
	toldDeleteInstances *string
}

const maxSuperseded = 4

// memory holds a setMemory per set, made on first use and dropped in one place (forget).
type memory struct {
	mu      sync.Mutex
	sets    map[client.ObjectKey]*setMemory
	pollMin time.Duration
	pollMax time.Duration
}

// with runs f on the set's memory, made if it has none, under the lock.
func (m *memory) with(key client.ObjectKey, f func(*setMemory)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sets == nil {
		m.sets = map[client.ObjectKey]*setMemory{}
	}
	sm := m.sets[key]
	if sm == nil {
		sm = &setMemory{}
		m.sets[key] = sm
	}
	f(sm)
}

// forget drops everything remembered of a set: it is gone, or its finalizer is.
func (m *memory) forget(key client.ObjectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sets, key)
}

// notBefore is the oldest snapshot a reconcile may act on. A user's edit may act on any snapshot
// taken since the set existed (nothing it has not recorded can be newer); a poll needs news.
func (m *memory) notBefore(key client.ObjectKey, s *infrav1.TalisInstanceSet) (t time.Time) {
	m.with(key, func(sm *setMemory) {
		created := s.CreationTimestamp.Time
		switch {
		case s.Generation == s.Status.ObservedGeneration && !sm.lastSnapshot.IsZero():
			t = sm.lastSnapshot.Add(time.Nanosecond)
		case sm.lastSnapshot.After(created):
			t = sm.lastSnapshot
		default:
			t = created
		}
	})
	return t
}

// used records the snapshot a reconcile acted on.
func (m *memory) used(key client.ObjectKey, at time.Time) {
	m.with(key, func(sm *setMemory) { sm.lastSnapshot = at })
}

// nextPoll returns the poll interval while something is progressing: it starts at pollMin and
// doubles up to pollMax; changed starts it over, since a set that just moved is likely to move
// again soon.
func (m *memory) nextPoll(key client.ObjectKey, changed bool) (d time.Duration) {
	m.with(key, func(sm *setMemory) {
		if sm.pollInterval == 0 || changed {
			sm.pollInterval = m.pollMin
		} else {
			sm.pollInterval = min(2*sm.pollInterval, m.pollMax)
		}
		d = sm.pollInterval
	})
	return d
}

// steady resets the poll backoff once the set is settled.
func (m *memory) steady(key client.ObjectKey) {
	m.with(key, func(sm *setMemory) { sm.pollInterval = 0 })
}

// wroteOver records a write of the set by this process that replaced resourceVersion oldRV.
func (m *memory) wroteOver(key client.ObjectKey, oldRV string) {
	m.with(key, func(sm *setMemory) {
		if len(sm.superseded) == maxSuperseded {
			sm.superseded = sm.superseded[1:]
		}
		sm.superseded = append(sm.superseded, oldRV)
	})
}

// stale reports whether the cached version rv has been written over; when it has not, the
// cache has caught up and the remembered versions are dropped.
func (m *memory) stale(key client.ObjectKey, rv string) (stale bool) {
	m.with(key, func(sm *setMemory) {
		if stale = slices.Contains(sm.superseded, rv); !stale {
			sm.superseded = nil
		}
	})
	return stale
}

// wroteStatus records a status write, for pacing.
func (m *memory) wroteStatus(key client.ObjectKey, at time.Time) {
	m.with(key, func(sm *setMemory) { sm.lastWrite = at })
}

// detailWait is how long a detail-only write of the set should still wait; 0 means write now.
func (m *memory) detailWait(key client.ObjectKey, now time.Time, interval time.Duration) (d time.Duration) {
	m.with(key, func(sm *setMemory) {
		if !sm.lastWrite.IsZero() && interval > 0 {
			d = max(0, sm.lastWrite.Add(interval).Sub(now))
		}
	})
	return d
}

// firstWarning reports whether the delete-instances value has not been warned about for the
// set yet, and remembers it.
func (m *memory) firstWarning(key client.ObjectKey, value string) (first bool) {
	m.with(key, func(sm *setMemory) {
		if first = sm.toldDeleteInstances == nil || *sm.toldDeleteInstances != value; first {
			sm.toldDeleteInstances = &value
		}
	})
	return first
}
