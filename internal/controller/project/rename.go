package project

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// spec.projectName may change until status.projectID is set (the CRD refuses it after). The
// name is stored in status before the create call (recordName), so a create whose response
// was lost is known by name: followRename removes such a project of ours under the old name
// before the new one is used, and nothing is left behind in Talis.

// recordName stores status.projectName before the create call that uses it. The write carries
// the resourceVersion the decision was read at, so a spec edit made meanwhile makes it
// conflict and nothing is created under a name the spec no longer asks for.
func (r *Reconciler) recordName(ctx context.Context, p *infrav1.TalisProject, recorded string) (shared.Health, bool) {
	if recorded == p.Status.ProjectName {
		return shared.Health{}, true
	}
	err := r.updateStatus(ctx, p)
	if apierrors.IsConflict(err) {
		return shared.Converging(infrav1.ReasonCreating, "the TalisProject changed while its Talis name was being recorded; trying again"), false
	}
	if err != nil {
		return shared.Problem("recording the Talis project name", err), false
	}
	return shared.Health{}, true
}

// followRename reports whether spec.projectName now asks for another name than the recorded
// one of a project not yet created, after making sure no project of ours is left under the old
// name (created by a call whose response was lost). ok is false while that cannot be known.
func (r *Reconciler) followRename(ctx context.Context, p *infrav1.TalisProject) (renamed bool, h shared.Health, ok bool) {
	old := p.Status.ProjectName
	if p.Status.ProjectID != 0 || old == "" || old == r.talisProjectName(p) {
		return false, shared.Health{}, true
	}
	conn, err := r.Conns.ForProject(ctx, p)
	if err != nil {
		return false, shared.Problem("reading credentials", err), false
	}
	owner := uint(p.Status.OwnerID)
	got, err := conn.Client.GetProject(ctx, talis.ProjectGetParams{Name: old, OwnerID: owner})
	switch {
	case talis.IsNotFound(err):
		return true, shared.Health{}, true
	case err != nil:
		return false, shared.Problem("looking up the project under the previous spec.projectName", err), false
	case claims.MarkerOf(got.Config) != r.marker(p):
		return true, shared.Health{}, true // not ours: someone else's, left alone
	}
	inUse, err := r.heldByAnother(ctx, p, &got)
	if err != nil {
		return false, shared.Problem("listing TalisProjects", err), false
	}
	if inUse {
		return true, shared.Health{}, true // another TalisProject adopted it
	}
	// Ours, and maybe not empty: a predecessor of this object deleted with deletionPolicy Orphan
	// left it with its instances. Deleting it would leave them running where no call by project
	// name reaches them, so the rename waits until they are gone.
	live, err := liveInstances(ctx, conn, int64(got.ID))
	if err != nil {
		return false, shared.Problem("listing the instances of the project under the previous spec.projectName", err), false
	}
	if len(live) > 0 {
		return false, shared.StalledOn(infrav1.ReasonProjectHasLiveInstances, fmt.Sprintf(
			"Talis project %q (ID %d), this object's under its previous name, has %d live instance(s) (%s); it is not deleted for the new spec.projectName %q, which would leave them running where no call by project name reaches them: terminate them in Talis, or set spec.projectName back to %q",
			old, got.ID, len(live), shared.DescribeIDs(live), r.talisProjectName(p), old)), false
	}
	if err := conn.Client.DeleteProject(ctx, talis.ProjectDeleteParams{Name: old, OwnerID: owner}); err != nil && !talis.IsNotFound(err) {
		return false, shared.Problem("deleting the project created under the previous spec.projectName", err), false
	}
	r.Recorder.Eventf(p, nil, "Normal", "Deleted", "Rename",
		"Deleted Talis project %q (ID %d), created under the previous spec.projectName before its creation was recorded", old, got.ID)
	return true, shared.Health{}, true
}
