package instanceset

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

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
