package project

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// projectsOfSecret maps a Secret to the projects of its namespace that name it: a fixed key is
// then used within seconds instead of after --error-retry. A project's sets follow, as they are
// woken by every change of their project's status.
func (r *Reconciler) projectsOfSecret(ctx context.Context, o client.Object) []ctrl.Request {
	var projects infrav1.TalisProjectList
	if err := r.List(ctx, &projects, client.InNamespace(o.GetNamespace()), client.MatchingFields{shared.APIKeySecretIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(projects.Items))
	for _, p := range projects.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return reqs
}
