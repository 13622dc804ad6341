package creates

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// Results holds, per set, the outcome of its last create call until a reconcile has
// dealt with it. Memory only: after a restart the instances are found by their tags.
type Results struct {
	mu sync.Mutex
	m  map[types.NamespacedName]Result
}

// Result is what one create call returned.
type Result struct {
	Attempt   int64
	Instances []infrav1.TalisInstance // Err == nil
	Err       error
}

// Put holds the outcome of key's create call.
func (c *Results) Put(key types.NamespacedName, res Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[types.NamespacedName]Result{}
	}
	c.m[key] = res
}

// Outcome returns the held outcome of the create status still has an intent for; an outcome
// whose intent is gone is dropped.
func (c *Results) Outcome(key types.NamespacedName, st *infrav1.TalisInstanceSetStatus) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res, ok := c.m[key]
	if !ok {
		return Result{}, false
	}
	if st.PendingCreate == nil || st.PendingCreate.Attempt != res.Attempt {
		if st.LastCreateAttempt >= res.Attempt {
			delete(c.m, key) // recorded or resolved already
		}
		return Result{}, false
	}
	return res, true
}

// Apply folds a held successful outcome into status, and returns its attempt (0 if none).
func (c *Results) Apply(key types.NamespacedName, st *infrav1.TalisInstanceSetStatus) int64 {
	res, ok := c.Outcome(key, st)
	if !ok || res.Err != nil {
		return 0
	}
	st.PendingCreate = nil
	known := map[int64]bool{}
	for _, in := range st.Instances {
		known[in.ID] = true
	}
	for _, in := range res.Instances {
		if !known[in.ID] {
			st.Instances = append(st.Instances, *in.DeepCopy())
		}
	}
	return res.Attempt
}

// Drop forgets key's outcome of attempt.
func (c *Results) Drop(key types.NamespacedName, attempt int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res, ok := c.m[key]; ok && res.Attempt == attempt {
		delete(c.m, key)
	}
}
