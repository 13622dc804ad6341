package instanceset

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
)

// TalisInstanceSetReconciler keeps the instances of a TalisInstanceSet alive in Talis.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, to re-check a set right before a create call.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Conns     *talisconn.Registry
	Observer  *observer.Observer
	Timing    shared.Timing
	Hook      StepHook
	// Outputs holds the outputs reconciler's verdicts, folded into the set's conditions.
	Outputs *shared.OutputsVerdicts
	// Claims verifies that the Talis project a TalisProject's status names is that object's.
	Claims *claims.Verifier

	memory  memory // per set: polls, own writes, pacing, warnings told
	results creates.Results
	waker   shared.Waker
	created creates.SendLog
	lookups taskLookups     // when late instances may have their tasks read again
	drift   driftWatch      // steady sets, woken when Talis's list contradicts them
	creates creates.Batcher // create calls of every set, batched per endpoint
}

// +kubebuilder:rbac:groups=infra.talis.io,resources=talisinstancesets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=infra.talis.io,resources=talisinstancesets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=infra.talis.io,resources=talisinstancesets/finalizers,verbs=update
// +kubebuilder:rbac:groups=infra.talis.io,resources=talisprojects,verbs=get;list;watch

const lowPriority = -100

// Wake reconciles the set soon: the outputs reconciler calls it when its verdict changed.
func (r *Reconciler) Wake(key client.ObjectKey) { r.waker.Wake(key) }

// patchOwnFinalizers patches the set and remembers the version it replaced.
func (r *Reconciler) patchOwnFinalizers(ctx context.Context, s *infrav1.TalisInstanceSet, mutate func(client.Object)) error {
	old := s.ResourceVersion
	err := shared.PatchFinalizers(ctx, r.Client, s, mutate)
	if err == nil && s.ResourceVersion != old { // a write that changed nothing keeps the version
		r.memory.wroteOver(client.ObjectKeyFromObject(s), old)
	}
	return err
}

func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s infrav1.TalisInstanceSet
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		if apierrors.IsNotFound(err) {
			r.drift.unwatch(req.NamespacedName)
			r.memory.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.memory.stale(req.NamespacedName, s.ResourceVersion) {
		// The cache has not caught up with this process's own last write: any write would
		// conflict. Look again shortly instead of spinning on conflicts.
		return ctrl.Result{RequeueAfter: shared.StaleCacheRetry}, nil
	}
	r.drift.unwatch(req.NamespacedName) // watched again if this reconcile ends steady
	return r.conclude(ctx, &s, r.reconcile(ctx, &s))
}

// reconcile runs the phases the set is in (pause, finalizer, project, instances) and says what
// they concluded.
func (r *Reconciler) reconcile(ctx context.Context, s *infrav1.TalisInstanceSet) outcome {
	if shared.IsPaused(s) {
		paused := shared.MarkPaused(s, &s.Status.Conditions, s.Status.ObservedGeneration)
		return outcome{paused: &paused}
	}
	if s.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(s, infrav1.Finalizer) {
		if err := r.patchOwnFinalizers(ctx, s, func(o client.Object) { controllerutil.AddFinalizer(o, infrav1.Finalizer) }); err != nil {
			return resultOutcome(ctrl.Result{}, client.IgnoreNotFound(err))
		}
	}
	if !s.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(s, infrav1.Finalizer) {
		return outcome{}
	}
	if !s.DeletionTimestamp.IsZero() && s.Spec.DeletionPolicy == infrav1.DeletionPolicyOrphan {
		recorded, err := r.recordOrphaned(ctx, s)
		if err != nil {
			return resultOutcome(ctrl.Result{}, err)
		}
		note := fmt.Sprintf("Left %d instance(s) running in Talis (deletionPolicy Orphan)", len(s.Status.Instances))
		if recorded {
			note += fmt.Sprintf(", recorded in TalisProject %q (status.orphanedSets) so that its sweep never terminates them", s.Spec.ProjectRef.Name)
		}
		r.Recorder.Eventf(s, nil, "Normal", "Orphaned", "Delete", "%s", note)
		return r.removeFinalizer(ctx, s)
	}

	var p infrav1.TalisProject
	if err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.ProjectRef.Name}, &p); err != nil {
		if !apierrors.IsNotFound(err) {
			return resultOutcome(ctrl.Result{}, err)
		}
		if deletedAndEmpty(s) {
			return r.removeFinalizer(ctx, s)
		}
		return healthOutcome(r.missingProject(s))
	}
	if p.Status.ProjectID == 0 {
		if deletedAndEmpty(s) {
			return r.removeFinalizer(ctx, s) // nothing can exist in a project never created
		}
		return healthOutcome(projectNotCreated(&p), r.Timing.ErrorRetry)
	}
	return r.reconcileInstances(ctx, s, &p)
}

// removeFinalizer lets the set go; what the process remembers of it goes first.
func (r *Reconciler) removeFinalizer(ctx context.Context, s *infrav1.TalisInstanceSet) outcome {
	r.memory.forget(client.ObjectKeyFromObject(s))
	forgetInstanceMetrics(s)
	if err := r.patchOwnFinalizers(ctx, s, func(o client.Object) { controllerutil.RemoveFinalizer(o, infrav1.Finalizer) }); err != nil {
		return resultOutcome(ctrl.Result{}, client.IgnoreNotFound(err))
	}
	metrics.ObserveDeletion(metrics.KindInstanceSet, s.DeletionTimestamp)
	r.after(ctx, StepFinalizerRemoved)
	return outcome{}
}

// SetupWithManager registers the controller; a set is woken when its project changes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	r.memory.pollMin, r.memory.pollMax = r.Timing.PollMin, r.Timing.PollMax
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.TalisInstanceSet{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, shared.DeletionStarted()))).
		Watches(&infrav1.TalisProject{}, handler.EnqueueRequestsFromMapFunc(shared.SetsIndexedBy(r.Client, shared.ProjectRefIndex))).
		// Sets waiting for an instance list are woken when it has been made.
		WatchesRawSource(source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.waker.Start(ctx, q)
			r.created.Start(time.Now())
			if r.Timing.DriftPoll > 0 {
				go r.drift.run(ctx, r.Timing.DriftPoll, r.Observer, r.waker.Wake)
			}
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("talisinstanceset").
		Complete(r)
}
