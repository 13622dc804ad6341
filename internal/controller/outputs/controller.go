package outputs

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// OutputsReconciler publishes each set's instances into the ConfigMap its spec.outputs names.
// It works from the set's status alone: no Talis calls, and it never writes the set (its
// verdicts reach the set's conditions through the set reconciler, see outputsVerdicts).
type Reconciler struct {
	client.Client
	// APIReader sees the ConfigMaps the cache leaves out: those without OutputsLabel.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Verdicts  *shared.OutputsVerdicts
	// Recheck is how soon a set whose ConfigMap cannot be written is looked at again: a
	// ConfigMap without the label is not watched, so its removal is only seen by looking.
	Recheck time.Duration
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch

func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s infrav1.TalisInstanceSet
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		if apierrors.IsNotFound(err) {
			r.Verdicts.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if s.Spec.Outputs == nil {
		r.report(&s, nil) // an outputs problem goes with the outputs
		return ctrl.Result{}, nil
	}
	p, retry, err := r.publish(ctx, &s)
	if err != nil || retry {
		return ctrl.Result{RequeueAfter: shared.StaleCacheRetry}, err
	}
	if !s.DeletionTimestamp.IsZero() {
		r.Verdicts.Forget(req.NamespacedName) // a set being deleted reports only its deletion
		return ctrl.Result{}, nil
	}
	r.report(&s, p)
	if p != nil {
		return ctrl.Result{RequeueAfter: r.Recheck}, nil
	}
	return ctrl.Result{}, nil
}

// publish makes the ConfigMap say what the set's status says, writing only when it does not.
// It returns the problem a person has to solve, or retry when the cache or a concurrent write
// got in the way. A set being deleted keeps its ConfigMap current but makes none.
func (r *Reconciler) publish(ctx context.Context, s *infrav1.TalisInstanceSet) (p *shared.OutputsProblem, retry bool, err error) {
	want := desiredOutputs(s)
	key := client.ObjectKeyFromObject(want)
	var cm corev1.ConfigMap
	err = r.Get(ctx, key, &cm)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, &cm)
		if apierrors.IsNotFound(err) {
			if !s.DeletionTimestamp.IsZero() {
				return nil, false, nil
			}
			if err := controllerutil.SetControllerReference(s, want, r.Scheme); err != nil {
				return nil, false, err
			}
			return r.written(want, r.Create(ctx, want))
		}
	}
	if err != nil {
		return nil, false, err
	}
	if predecessorOf(&cm, s) {
		return r.takeOver(ctx, &cm, s, want)
	}
	if !metav1.IsControlledBy(&cm, s) {
		return notOwnedProblem(&cm), false, nil
	}
	if upToDate(&cm, want) {
		return nil, false, nil
	}
	if cm.Immutable != nil && *cm.Immutable {
		return &shared.OutputsProblem{Reason: infrav1.ReasonOutputsNotWritten, Message: fmt.Sprintf(
			"ConfigMap %q was made immutable, so it cannot be updated; delete it and it is made again", cm.Name)}, false, nil
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[infrav1.OutputsLabel] = want.Labels[infrav1.OutputsLabel]
	cm.Data, cm.BinaryData = want.Data, nil
	return r.written(&cm, r.Update(ctx, &cm))
}

// predecessorOf: the ConfigMap belongs to a deleted set of the same name (names are unique in a
// namespace, so a controller reference with this name and another UID is one that is gone). The
// garbage collector deletes it in time, or never where none runs; the set applied again takes
// it over rather than stall on what was its own.
func predecessorOf(cm *corev1.ConfigMap, s *infrav1.TalisInstanceSet) bool {
	ref := metav1.GetControllerOf(cm)
	return ref != nil && ref.Kind == "TalisInstanceSet" && ref.Name == s.Name && ref.UID != s.UID &&
		strings.HasPrefix(ref.APIVersion, infrav1.GroupVersion.Group+"/")
}

func (r *Reconciler) takeOver(ctx context.Context, cm *corev1.ConfigMap, s *infrav1.TalisInstanceSet, want *corev1.ConfigMap) (*shared.OutputsProblem, bool, error) {
	old := metav1.GetControllerOf(cm)
	refs := cm.OwnerReferences[:0]
	for _, ref := range cm.OwnerReferences {
		if ref.UID != old.UID {
			refs = append(refs, ref)
		}
	}
	cm.OwnerReferences = refs
	if err := controllerutil.SetControllerReference(s, cm, r.Scheme); err != nil {
		return nil, false, err
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[infrav1.OutputsLabel] = want.Labels[infrav1.OutputsLabel]
	cm.Data, cm.BinaryData = want.Data, nil
	return r.written(cm, r.Update(ctx, cm))
}

// written sorts the outcome of a write: refusals a person has to look at, races to retry.
func (r *Reconciler) written(cm *corev1.ConfigMap, err error) (*shared.OutputsProblem, bool, error) {
	switch {
	case err == nil:
		return nil, false, nil
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err):
		return nil, true, nil
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsRequestEntityTooLargeError(err):
		return &shared.OutputsProblem{Reason: infrav1.ReasonOutputsNotWritten, Message: fmt.Sprintf(
			"writing ConfigMap %q failed: %v", cm.Name, err)}, false, nil
	}
	return nil, false, err
}

func notOwnedProblem(cm *corev1.ConfigMap) *shared.OutputsProblem {
	msg := fmt.Sprintf("ConfigMap %q already exists and is not this set's own", cm.Name)
	if ref := metav1.GetControllerOf(cm); ref != nil {
		msg += fmt.Sprintf(" (it belongs to %s %q)", ref.Kind, ref.Name)
	}
	return &shared.OutputsProblem{Reason: infrav1.ReasonOutputsNotOwned,
		Message: msg + "; it is left as it is: delete it, or set spec.outputs.configMapName to another name"}
}

// report records the verdict. When the set's conditions do not show it yet, it says so in an
// event and has the set reconciler show it.
func (r *Reconciler) report(s *infrav1.TalisInstanceSet, p *shared.OutputsProblem) {
	key := client.ObjectKeyFromObject(s)
	if !r.Verdicts.Set(key, p) {
		return
	}
	shown := shared.RecordedOutputsProblem(s.Status.Conditions)
	if shared.EqualProblems(shown, p) {
		return // as the conditions already say, e.g. after a restart
	}
	if p != nil {
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, p.Reason, "PublishOutputs", "%s", p.Message)
	}
	if r.Verdicts.Wake != nil {
		r.Verdicts.Wake(key)
	}
}

func desiredOutputs(s *infrav1.TalisInstanceSet) *corev1.ConfigMap {
	out := s.Spec.Outputs
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: out.ConfigMapName,
			Labels: map[string]string{infrav1.OutputsLabel: shared.SetLabelValue(s.Name)}},
		Data: Render(s.Name, out.Formats, s.Status.Instances),
	}
}

// upToDate: the data is what the status says, and nothing was added beside it.
func upToDate(cm, want *corev1.ConfigMap) bool {
	return cm.Labels[infrav1.OutputsLabel] == want.Labels[infrav1.OutputsLabel] &&
		maps.Equal(cm.Data, want.Data) && len(cm.BinaryData) == 0
}

// SetupWithManager watches the sets that have outputs, and the labelled ConfigMaps by name, so
// that an edit or a deletion is undone at once.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.TalisInstanceSet{}, builder.WithPredicates(hasOutputs())).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(shared.SetsIndexedBy(r.Client, shared.OutputsConfigMapIndex))).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("talisinstanceset-outputs").
		Complete(r)
}

// hasOutputs lets through sets with outputs, and the update that removes them.
func hasOutputs() predicate.Funcs {
	has := func(o client.Object) bool { return o.(*infrav1.TalisInstanceSet).Spec.Outputs != nil }
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return has(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return has(e.ObjectOld) || has(e.ObjectNew) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return has(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return has(e.Object) },
	}
}
