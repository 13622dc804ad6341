package harness

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kstatus is what kstatus (Flux's default health check, kubectl wait) reads of the stored object.
// It is read as JSON: a typed object would drop a zero status.observedGeneration.
func Kstatus(ctx context.Context, c client.Client, o client.Object) (*status.Result, error) {
	u := &unstructured.Unstructured{}
	gvk, err := c.GroupVersionKindFor(o)
	if err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
		return nil, err
	}
	return status.Compute(u)
}
