package shared

import (
	"context"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// IsPaused: see Pause.
func IsPaused(o metav1.Object) bool {
	paused, _ := Pause(o)
	return paused
}

func FindCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	return meta.FindStatusCondition(conds, typ)
}

func ReasonOf(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Reason
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary (and so to at most n characters).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// patchFinalizers patches an object's finalizers with its resourceVersion as a precondition.
// Not an update: that would send back the whole spec as this binary serialises it (e.g. "15m0s"
// for the defaulted "15m"), bumping the generation and costing a spurious reconcile.
func PatchFinalizers[T client.Object](ctx context.Context, c client.Client, o T, mutate func(client.Object)) error {
	base := o.DeepCopyObject().(client.Object)
	mutate(o)
	return c.Patch(ctx, o, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
