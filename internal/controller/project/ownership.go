package project

import (
	"context"
	"fmt"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// marker records this object as the creator of its Talis project.
func (r *Reconciler) marker(p *infrav1.TalisProject) string {
	return creatorMarker(r.Conns.ClusterID(), p.Namespace, p.Name)
}

// mayUse decides whether an existing Talis project this object has not recorded as its own may
// become its own: never while another TalisProject uses it; at once when Talis says this
// object created it; otherwise only with the adopt annotation.
func (r *Reconciler) mayUse(ctx context.Context, p *infrav1.TalisProject, got *talis.Project) (shared.Health, bool) {
	if h, inUse := r.inUse(ctx, p); inUse {
		return h, false
	}
	if markerOf(got.Config) == r.marker(p) {
		return shared.Health{}, true
	}
	if p.Annotations[infrav1.AdoptAnnotation] != "true" {
		return shared.StalledOn(infrav1.ReasonNotOwned, fmt.Sprintf(
			"Talis project %q already exists and was not created by this TalisProject; to use it, add the annotation %s=\"true\" (its instances and, with deletionPolicy Delete, the project itself then belong to this object)",
			got.Name, infrav1.AdoptAnnotation)), false
	}
	metrics.CountAdoptions(metrics.KindProject, 1)
	r.Recorder.Eventf(p, nil, "Normal", "Adopted", "Adopt", "Adopted existing Talis project %q (ID %d)", got.Name, got.ID)
	return shared.Health{}, true
}

// inUse reports whether another TalisProject (in any watched namespace) has the same Talis
// project: such a project is never adopted, created twice or deleted. The message names no
// other object, which may belong to another tenant.
func (r *Reconciler) inUse(ctx context.Context, p *infrav1.TalisProject) (shared.Health, bool) {
	inUse, err := r.usedByAnother(ctx, p)
	if err != nil {
		return shared.Problem("listing TalisProjects", err), true
	}
	if inUse {
		return shared.StalledOn(infrav1.ReasonProjectInUse, fmt.Sprintf(
			"Talis project %q is used by another TalisProject; a Talis project is never shared, set spec.projectName to another name", p.Status.ProjectName)), true
	}
	return shared.Health{}, false
}

func (r *Reconciler) usedByAnother(ctx context.Context, p *infrav1.TalisProject) (bool, error) {
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return false, err
	}
	for i := range all.Items {
		o := &all.Items[i]
		if o.UID == p.UID || o.Status.ProjectName != p.Status.ProjectName || o.Status.ProjectID == 0 {
			continue
		}
		if talisconn.SameURL(r.Conns.Endpoint(o), r.Conns.Endpoint(p)) {
			return true, nil
		}
	}
	return false, nil
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
