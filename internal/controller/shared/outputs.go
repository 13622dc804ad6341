package shared

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// outputsProblem is why a set's outputs ConfigMap is not as its status says.
type OutputsProblem struct{ Reason, Message string }

// outputsVerdicts passes what the outputs reconciler found to the set reconciler, which alone
// writes the set's conditions: the outputs reconciler never writes the set, so it can neither
// fight over a condition nor make the set reconciler's intent writes conflict.
type OutputsVerdicts struct {
	mu   sync.Mutex
	m    map[client.ObjectKey]*OutputsProblem // a key with a nil value: published fine
	Wake func(client.ObjectKey)               // reconciles the set, which then shows the verdict
}

// set records the verdict and says whether it changed.
func (v *OutputsVerdicts) Set(key client.ObjectKey, p *OutputsProblem) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	old, known := v.m[key]
	if known && EqualProblems(old, p) {
		return false
	}
	if v.m == nil {
		v.m = map[client.ObjectKey]*OutputsProblem{}
	}
	v.m[key] = p
	return true
}

func (v *OutputsVerdicts) Forget(key client.ObjectKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, key)
}

// of is the verdict on the set. Until the outputs reconciler has given one (after a restart),
// the set keeps what its conditions say, so they do not flap.
func (v *OutputsVerdicts) Of(s *infrav1.TalisInstanceSet) *OutputsProblem {
	if v == nil || s.Spec.Outputs == nil || !s.DeletionTimestamp.IsZero() {
		return nil
	}
	v.mu.Lock()
	p, known := v.m[client.ObjectKeyFromObject(s)]
	v.mu.Unlock()
	if known {
		return p
	}
	return RecordedOutputsProblem(s.Status.Conditions)
}

// recordedOutputsProblem is the outputs problem the set's conditions show, if any.
func RecordedOutputsProblem(conds []metav1.Condition) *OutputsProblem {
	c := FindCondition(conds, infrav1.ConditionSynced)
	if c == nil || c.Status != metav1.ConditionFalse ||
		(c.Reason != infrav1.ReasonOutputsNotOwned && c.Reason != infrav1.ReasonOutputsNotWritten) {
		return nil
	}
	return &OutputsProblem{Reason: c.Reason, Message: c.Message}
}

func EqualProblems(a, b *OutputsProblem) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
