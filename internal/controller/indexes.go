package controller

import (
	"context"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SetupIndexes registers the field indexes the reconcilers list by.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisInstanceSet{}, shared.ProjectRefIndex, func(o client.Object) []string {
		return []string{o.(*infrav1.TalisInstanceSet).Spec.ProjectRef.Name}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisInstanceSet{}, shared.OutputsConfigMapIndex, func(o client.Object) []string {
		if out := o.(*infrav1.TalisInstanceSet).Spec.Outputs; out != nil {
			return []string{out.ConfigMapName}
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &infrav1.TalisProject{}, shared.APIKeySecretIndex, shared.APIKeySecretOf)
}
