package controller

import (
	"context"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// projectRefIndex indexes TalisInstanceSets by the TalisProject they use.
const projectRefIndex = "spec.projectRef.name"

// outputsConfigMapIndex indexes TalisInstanceSets by the ConfigMap their outputs go to.
const outputsConfigMapIndex = "spec.outputs.configMapName"

// SetupIndexes registers the field indexes the reconcilers list by.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisInstanceSet{}, projectRefIndex, func(o client.Object) []string {
		return []string{o.(*infrav1.TalisInstanceSet).Spec.ProjectRef.Name}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisInstanceSet{}, outputsConfigMapIndex, func(o client.Object) []string {
		if out := o.(*infrav1.TalisInstanceSet).Spec.Outputs; out != nil {
			return []string{out.ConfigMapName}
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisProject{}, apiKeySecretIndex, apiKeySecretOf)
}

// isPaused: only "true" pauses, so that paused=false means what it says.
func isPaused(o metav1.Object) bool {
	return o.GetAnnotations()[infrav1.PausedAnnotation] == "true"
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	return meta.FindStatusCondition(conds, typ)
}

func reasonOf(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Reason
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary (and so to at most n characters).
func clip(s string, n int) string {
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
func patchFinalizers[T client.Object](ctx context.Context, c client.Client, o T, mutate func(client.Object)) error {
	base := o.DeepCopyObject().(client.Object)
	mutate(o)
	return c.Patch(ctx, o, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// setsIndexedBy maps an object to the sets in its namespace whose index entry is its name: the
// sets of a TalisProject (projectRefIndex), the sets publishing to a ConfigMap (outputsConfigMapIndex).
func setsIndexedBy(c client.Reader, index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		var sets infrav1.TalisInstanceSetList
		if err := c.List(ctx, &sets, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			return nil
		}
		reqs := make([]ctrl.Request, 0, len(sets.Items))
		for _, s := range sets.Items {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
		}
		return reqs
	}
}
