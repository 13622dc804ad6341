package controller

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// compactCachedSet is the cache's transform for sets: the informer holds every set for the
// life of the manager, and the JSON decoder leaves each with slices grown by doubling and a
// separate copy of every string, though most are the same in every set (condition types,
// reasons, states, the template's provider and region). Readers get deep copies, so sharing
// memory between cached objects is invisible to them.
func (n *interner) compactCachedSet(obj any) (any, error) {
	set, ok := obj.(*infrav1.TalisInstanceSet)
	if !ok {
		return stripManagedFields(obj)
	}
	set.ManagedFields = nil
	set.Finalizers = n.internAll(set.Finalizers)

	t := &set.Spec.Template
	t.Provider = infrav1.Provider(n.intern(string(t.Provider)))
	t.Region, t.Size, t.Image = n.intern(t.Region), n.intern(t.Size), n.intern(t.Image)
	t.Tags = n.internAll(t.Tags)

	st := &set.Status
	st.Reason = n.intern(st.Reason)
	st.Conditions = exact(st.Conditions)
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.Type, c.Status, c.Reason, c.Message = n.intern(c.Type), metav1.ConditionStatus(n.intern(string(c.Status))), n.intern(c.Reason), n.intern(c.Message)
	}
	st.Instances = exact(st.Instances)
	for i := range st.Instances {
		in := &st.Instances[i]
		in.State = n.intern(in.State)
		if in.TemplateHash == st.TemplateHash {
			in.TemplateHash = st.TemplateHash
		}
		if i > 0 { // one create's instances, seen ready by one list, are neighbours
			shareTime(&in.CreatedAt, st.Instances[i-1].CreatedAt)
			shareTime(&in.ReadyAt, st.Instances[i-1].ReadyAt)
		}
	}
	st.PublicIPs = exact(st.PublicIPs)
	return set, nil
}

var stripManagedFields = cache.TransformStripManagedFields()

// exact copies a slice to one of its length: decoding appends, so a slice of 6 holds room for 8.
func exact[T any](s []T) []T {
	if len(s) == cap(s) {
		return s
	}
	out := make([]T, len(s))
	copy(out, s)
	return out
}

func (n *interner) internAll(s []string) []string {
	s = exact(s)
	for i := range s {
		s[i] = n.intern(s[i])
	}
	return s
}

// shareTime points t at prev when both hold the same time.
func shareTime(t **metav1.Time, prev *metav1.Time) {
	if *t != nil && prev != nil && prev.Equal(*t) {
		*t = prev
	}
}

// interner keeps one copy of short strings that many objects hold. It is bounded: values
// nobody shares (names, messages with counts), or a tenant's junk, fill it once and are then
// kept as decoded; what it can hold stays under 256 KiB.
type interner struct {
	mu     sync.Mutex
	values map[string]string
}

const (
	internMaxLen    = 64
	internMaxValues = 4096
)

func newInterner() *interner { return &interner{values: map[string]string{}} }

func (n *interner) intern(s string) string {
	if s == "" || len(s) > internMaxLen {
		return s
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if v, ok := n.values[s]; ok {
		return v
	}
	if len(n.values) < internMaxValues {
		n.values[s] = s
	}
	return s
}
