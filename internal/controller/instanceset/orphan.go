package instanceset

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// +kubebuilder:rbac:groups=infra.talis.io,resources=talisprojects/status,verbs=get;update;patch

// recordOrphaned writes, before the finalizer of a set deleted with deletionPolicy Orphan goes,
// that its instances are left running on purpose: the project's sweep of stray instances never
// terminates an instance of an identity in status.orphanedSets. It reads the project past the
// cache and retries when the write conflicts with the project reconciler's own. recorded is
// false when there is no Talis project, so nothing to protect.
func (r *Reconciler) recordOrphaned(ctx context.Context, s *infrav1.TalisInstanceSet) (recorded bool, err error) {
	identity, forged := identityOf(s.DeepCopy(), r.Conns.ClusterID())
	if forged != nil {
		return false, nil // nothing was ever created with a forged identity
	}
	key := client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.ProjectRef.Name}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		recorded = false
		var p infrav1.TalisProject
		if err := r.APIReader.Get(ctx, key, &p); err != nil {
			// No TalisProject: a project waits for its sets, so it never had a Talis project.
			return client.IgnoreNotFound(err)
		}
		if p.Status.ProjectID == 0 {
			return nil
		}
		recorded = true
		if !shared.RecordOrphaned(&p.Status, identity, s.Name, time.Now()) {
			return nil
		}
		return r.Status().Update(ctx, &p)
	})
	return recorded, err
}

// deletedNote is what the event of a completed deletion says. The set saw every instance it
// knew of terminated and has no create pending, whose window would still be open; a create a
// gateway held past its deadline can still land after this, which only the project's sweep
// would see.
func deletedNote(p *infrav1.TalisProject) string {
	const done = "No instance of this set is live in Talis and no create of it is pending"
	if !p.DeletionTimestamp.IsZero() && p.Spec.DeletionPolicy == infrav1.DeletionPolicyOrphan {
		return fmt.Sprintf("%s; a create that a gateway held past its deadline and Talis applies later would stay running: TalisProject %q is being deleted with deletionPolicy Orphan", done, p.Name)
	}
	return fmt.Sprintf("%s; a create that a gateway held past its deadline and Talis applies later is terminated by TalisProject %q's sweep (StrayInstances)", done, p.Name)
}
