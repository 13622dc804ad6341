package instanceset

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// annotationWarnings remembers, per set, the delete-instances value last warned about: a value
// that names what the set does not have is told once, not at every poll.
type annotationWarnings struct {
	mu   sync.Mutex
	told map[client.ObjectKey]string
}

// first reports whether value has not been warned about for key yet, and remembers it.
func (a *annotationWarnings) first(key client.ObjectKey, value string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.told == nil {
		a.told = map[client.ObjectKey]string{}
	}
	if told, ok := a.told[key]; ok && told == value {
		return false
	}
	a.told[key] = value
	return true
}

func (a *annotationWarnings) forget(key client.ObjectKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.told, key)
}
