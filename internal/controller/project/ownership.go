package project

import (
	"context"
	"fmt"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// marker records this object as the creator of its Talis project.
func (r *Reconciler) marker(p *infrav1.TalisProject) string {
	return claims.Marker(r.Conns.ClusterID(), p.Namespace, p.Name)
}

// claim checks, on every reconcile, that got (the Talis project status names) is this
// object's: status can be written by others than the operator, so what it names is verified
// against Talis before it is used. A first claim on a project this object did not create is
// an adoption and says so.
func (r *Reconciler) claim(ctx context.Context, p *infrav1.TalisProject, got *talis.Project) (shared.Health, bool) {
	first := p.Status.ProjectID == 0
	if first {
		p.Status.ProjectID = int64(got.ID)
	}
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return shared.Problem("listing TalisProjects", err), false
	}
	refusal := r.Claims.Check(p, got, all.Items)
	if first && refusal == nil && claims.MarkerOf(got.Config) != r.marker(p) && p.Annotations[infrav1.AdoptAnnotation] != "true" {
		refusal = claims.NotCreatedHere(got)
	}
	if refusal != nil {
		r.Claims.Forget(p.UID)
		if first {
			p.Status.ProjectID = 0
		}
		return shared.StalledOn(refusal.Reason, refusal.Message), false
	}
	r.Claims.Remember(p)
	if first && claims.MarkerOf(got.Config) != r.marker(p) {
		metrics.CountAdoptions(metrics.KindProject, 1)
		r.Recorder.Eventf(p, nil, "Normal", "Adopted", "Adopt", "Adopted existing Talis project %q (ID %d)", got.Name, got.ID)
	}
	return shared.Health{}, true
}

// heldByAnother reports whether another TalisProject's claim on got holds: such a project is
// never deleted for this one.
func (r *Reconciler) heldByAnother(ctx context.Context, p *infrav1.TalisProject, got *talis.Project) (bool, error) {
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return false, err
	}
	return r.Claims.HeldByAnother(p, got, all.Items), nil
}

// connectionMoved reports a change of the URL or owner the spec and flags ask for since the project was
// created. Its instances live at the recorded endpoint under the recorded owner, which stay in
// use: following the change would strand them.
func (r *Reconciler) connectionMoved(p *infrav1.TalisProject) (shared.Health, bool) {
	if want := r.Conns.URL(p); !talisconn.SameURL(want, p.Status.Endpoint) {
		return shared.ReadyButWarned(infrav1.ReasonEndpointChanged, fmt.Sprintf(
			"the Talis URL is now %q (spec.connection.url or the manager's --talis-url) but this project and its instances live at %q, which stays in use; restore the setting, or create a new TalisProject for the new endpoint",
			talisconn.Redact(want), talisconn.Redact(p.Status.Endpoint))), true
	}
	if want := r.Conns.OwnerID(p); int64(want) != p.Status.OwnerID {
		return shared.ReadyButWarned(infrav1.ReasonOwnerChanged, fmt.Sprintf(
			"the owner is now %d (the manager's --default-owner-id) but this project and its instances belong to owner %d, which stays in use; restore the setting, or set spec.ownerID on a new TalisProject",
			want, p.Status.OwnerID)), true
	}
	return shared.Health{}, false
}
