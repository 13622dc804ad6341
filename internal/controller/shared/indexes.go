package shared

import (
	"context"
	"time"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// projectRefIndex indexes TalisInstanceSets by the TalisProject they use.
const ProjectRefIndex = "spec.projectRef.name"

// outputsConfigMapIndex indexes TalisInstanceSets by the ConfigMap their outputs go to.
const OutputsConfigMapIndex = "spec.outputs.configMapName"

// setsIndexedBy maps an object to the sets in its namespace whose index entry is its name: the
// sets of a TalisProject (projectRefIndex), the sets publishing to a ConfigMap (outputsConfigMapIndex).
func SetsIndexedBy(c client.Reader, index string) handler.MapFunc {
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

// apiKeySecretIndex indexes TalisProjects by the Secret holding their API key.
const APIKeySecretIndex = "spec.connection.apiKeySecretRef.name"

func APIKeySecretOf(o client.Object) []string {
	c := o.(*infrav1.TalisProject).Spec.Connection
	if c == nil || c.APIKeySecretRef == nil {
		return nil
	}
	return []string{c.APIKeySecretRef.Name}
}

// staleCacheRetry is how soon a set is looked at again when the cache still shows a version
// this process has already written over.
const StaleCacheRetry = 200 * time.Millisecond

// deletionStarted lets through the update that sets deletionTimestamp.
func DeletionStarted() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
}
