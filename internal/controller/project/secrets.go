package project

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/talisconn"
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

// secretWatchGap is how often a project looks at a Secret that is missing or not labelled for
// the operator. Only labelled Secrets are watched (CacheOptions), so the creation of one that
// is not labelled, or a label still missing, is seen only by looking: within seconds, so that
// "not labelled" follows "not found" at once rather than after --error-retry.
const secretWatchGap = 3 * time.Second

func secretRecheck(err error, otherwise time.Duration) time.Duration {
	var cred *talisconn.CredentialsError
	if errors.As(err, &cred) && (cred.Reason == infrav1.ReasonSecretNotLabeled || cred.Reason == infrav1.ReasonCredentialsUnavailable) {
		return min(secretWatchGap, otherwise)
	}
	return otherwise
}
