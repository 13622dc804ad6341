package instanceset

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// outcome is what one reconcile concluded. The phases write no status themselves (but for the
// protocol's record of its decision, recordIntent): conclude makes the outcome the reconcile's
// one status write.
type outcome struct {
	// health is what the conditions say for the generation acted on; status is written with it.
	health *shared.Health
	after  time.Duration
	// statusOnly writes status as the phases left it, conditions untouched, and returns res.
	statusOnly bool
	// paused: the conditions were stamped paused; written if that changed anything.
	paused *shared.Paused
	// res is the result when there is no health: nothing is written.
	res ctrl.Result
	err error
	// written runs once the write has landed: what must not be dropped or told before.
	written func()
}

func healthOutcome(h shared.Health, after time.Duration) outcome {
	return outcome{health: &h, after: after}
}

func resultOutcome(res ctrl.Result, err error) outcome { return outcome{res: res, err: err} }

// retryAtOnce ends a reconcile whose status write conflicted: the cache is behind, and the
// next reconcile decides again on what it will then hold.
var retryAtOnce = ctrl.Result{RequeueAfter: time.Millisecond}

// conclude writes status once, as out says, and tells what changed.
func (r *Reconciler) conclude(ctx context.Context, s *infrav1.TalisInstanceSet, out outcome) (ctrl.Result, error) {
	switch {
	case out.err != nil:
		return ctrl.Result{}, out.err
	case out.paused != nil:
		if !out.paused.Changed {
			return ctrl.Result{}, nil
		}
		if err := r.writeStatus(ctx, s); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		shared.TellPaused(r.Recorder, s, *out.paused)
		return ctrl.Result{}, nil
	case out.health == nil && !out.statusOnly:
		return out.res, nil
	}
	before := shared.SummaryReason(s.Status.Conditions)
	var shown shared.Health
	if out.health != nil {
		shown = out.health.WithOutputs(r.Outputs.Of(s))
		shown.Apply(&s.Status.Conditions, s.Generation)
		s.Status.ObservedGeneration = s.Generation
	}
	if err := r.writeStatus(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			return retryAtOnce, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if out.written != nil {
		out.written()
	}
	if out.health == nil {
		return out.res, nil
	}
	if shown.Reason == out.health.Reason { // the outputs reconciler reports its own problems
		shared.RecordTransition(r.Recorder, s, before, s.Status.Conditions, *out.health)
	}
	res := ctrl.Result{RequeueAfter: out.after}
	if out.after >= r.Timing.Resync/2 {
		res.Priority = ptr.To(lowPriority) // steady-state polls never delay a user's edit
	}
	return res, nil
}

// writeStatus is the status write, the protocol's included: it keeps status.reason and the
// set's memory of its own writes in step.
func (r *Reconciler) writeStatus(ctx context.Context, s *infrav1.TalisInstanceSet) error {
	s.Status.Reason = infrav1.StatusReason(s.Status.Conditions)
	old := s.ResourceVersion
	err := r.Status().Update(ctx, s)
	if err == nil && s.ResourceVersion != old { // a write that changed nothing keeps the version
		r.memory.wroteOver(client.ObjectKeyFromObject(s), old)
		r.memory.wroteStatus(client.ObjectKeyFromObject(s), time.Now())
	}
	return err
}
