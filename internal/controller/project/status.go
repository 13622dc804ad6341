package project

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// outcome is what one reconcile concluded; conclude turns it into the one status write.
type outcome struct {
	// health is what the conditions say, for the generation this reconcile acted on.
	health *shared.Health
	// health of a deletion: conditions only, observedGeneration stays.
	deleting bool
	// paused is set instead of health: the conditions were marked paused already.
	paused *shared.Paused
	after  time.Duration
	err    error
	// gone: the finalizer was removed, there is nothing left to write.
	gone bool
}

func healthOutcome(h shared.Health, after time.Duration) outcome {
	return outcome{health: &h, after: after}
}

// conclude writes status once, if this reconcile changed it, and tells what changed. Besides
// it, only recordName writes status: the name a create will use, before the call.
func (r *Reconciler) conclude(ctx context.Context, p *infrav1.TalisProject, before *infrav1.TalisProjectStatus, out outcome) (ctrl.Result, error) {
	if out.gone || out.err != nil {
		return ctrl.Result{}, out.err
	}
	beforeReason := shared.SummaryReason(before.Conditions)
	if out.health != nil {
		out.health.Apply(&p.Status.Conditions, p.Generation)
		if !out.deleting {
			p.Status.ObservedGeneration = p.Generation
		}
	}
	if !equality.Semantic.DeepEqual(before, &p.Status) {
		if err := r.updateStatus(ctx, p); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	switch {
	case out.paused != nil:
		shared.TellPaused(r.Recorder, p, *out.paused)
	case out.health != nil:
		shared.RecordTransition(r.Recorder, p, beforeReason, p.Status.Conditions, *out.health)
	}
	return ctrl.Result{RequeueAfter: out.after}, nil
}

// updateStatus writes status with its summary for kubectl get.
func (r *Reconciler) updateStatus(ctx context.Context, p *infrav1.TalisProject) error {
	p.Status.Reason = infrav1.StatusReason(p.Status.Conditions)
	return r.Status().Update(ctx, p)
}
