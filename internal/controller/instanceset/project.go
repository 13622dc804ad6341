package instanceset

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// missingProject is the health of a set whose TalisProject does not exist. Applied together
// (kubectl apply -k, Argo CD, Flux) a set often lands before its project: for
// Timing.MissingProjectGrace after the set was created that is a wait, not yet a Warning.
func (r *Reconciler) missingProject(s *infrav1.TalisInstanceSet) (shared.Health, time.Duration) {
	msg := fmt.Sprintf("TalisProject %q not found in namespace %q", s.Spec.ProjectRef.Name, s.Namespace)
	if left := r.Timing.MissingProjectGrace - time.Since(s.CreationTimestamp.Time); left > 0 {
		return shared.WaitingOn(infrav1.ReasonWaitingForProject, msg+"; waiting for it to be applied"), left
	}
	return shared.StalledOn(infrav1.ReasonProjectNotFound, msg), r.Timing.ErrorRetry
}

// projectNotCreated is the health of a set whose project has no Talis project yet. A project
// that needs a person passes its reason and message on: the set cannot go on either.
func projectNotCreated(p *infrav1.TalisProject) shared.Health {
	if c := shared.FindCondition(p.Status.Conditions, infrav1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		return shared.StalledOn(c.Reason, fmt.Sprintf("TalisProject %q: %s", p.Name, c.Message))
	}
	if shared.IsPaused(p) {
		return shared.WaitingOn(infrav1.ReasonProjectNotReady, fmt.Sprintf("TalisProject %q is paused before it was created in Talis", p.Name))
	}
	return shared.WaitingOn(infrav1.ReasonProjectNotReady, fmt.Sprintf("waiting for TalisProject %q to be created in Talis", p.Name))
}

// deletedAndEmpty: the set is being deleted and nothing of it can exist in Talis any more.
func deletedAndEmpty(s *infrav1.TalisInstanceSet) bool {
	return !s.DeletionTimestamp.IsZero() && len(s.Status.Instances) == 0 && s.Status.PendingCreate == nil
}
