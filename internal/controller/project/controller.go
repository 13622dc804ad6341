package project

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// TalisProjectReconciler keeps a Talis project in step with a TalisProject.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache: the sweep re-reads a project's record of orphaned sets
	// right before it terminates anything.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Conns     *talisconn.Registry
	// Observer shares instance lists with the set reconciler; the sweep of stray instances
	// reads them (sweep.go).
	Observer *observer.Observer
	Timing   shared.Timing
	// Claims verifies that the Talis project status names is this object's.
	Claims *claims.Verifier

	sweeps sweeps
	waker  shared.Waker
}

// +kubebuilder:rbac:groups=infra.talis.io,resources=talisprojects,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=infra.talis.io,resources=talisprojects/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=infra.talis.io,resources=talisprojects/finalizers,verbs=update
// Secrets (get, and list/watch for the metadata watch): no marker, as the generated role is
// cluster-wide; config/rbac/secret_reader_role.yaml grants them cluster-wide or, with
// config/watch-namespaces, per watched namespace.
// The default --cluster-id is the UID of kube-system:
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get,resourceNames=kube-system
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p infrav1.TalisProject
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		if apierrors.IsNotFound(err) {
			r.sweeps.unwatch(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := p.Status.DeepCopy()
	return r.conclude(ctx, &p, before, r.reconcile(ctx, &p))
}

// reconcile runs the phase the object is in and says what it concluded; it writes no status.
func (r *Reconciler) reconcile(ctx context.Context, p *infrav1.TalisProject) outcome {
	if shared.IsPaused(p) {
		r.sweeps.unwatch(client.ObjectKeyFromObject(p))
		return paused(p)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, p)
	}
	if !controllerutil.ContainsFinalizer(p, infrav1.Finalizer) {
		if err := shared.PatchFinalizers(ctx, r.Client, p, func(o client.Object) { controllerutil.AddFinalizer(o, infrav1.Finalizer) }); err != nil {
			return outcome{err: client.IgnoreNotFound(err), gone: apierrors.IsNotFound(err)}
		}
	}
	h, requeue := r.reconcileNormal(ctx, p)
	return healthOutcome(shared.NameKey(h, p), requeue)
}

func (r *Reconciler) reconcileNormal(ctx context.Context, p *infrav1.TalisProject) (shared.Health, time.Duration) {
	recorded := p.Status.ProjectName // as stored
	if p.Status.ProjectID == 0 && squatsDefault(p) {
		return shared.StalledOn(infrav1.ReasonNameForbidden, fmt.Sprintf(
			"spec.projectName %q has the form of another namespace's default Talis project name (<namespace>.<name>.<cluster>); choose a name that does not", p.Spec.ProjectName)), r.Timing.Resync
	}
	if renamed, h, ok := r.followRename(ctx, p); !ok {
		return h, r.Timing.ErrorRetry
	} else if renamed {
		p.Status.ProjectName = ""
	}
	if p.Status.ProjectName == "" {
		p.Status.ProjectName = r.talisProjectName(p)
		p.Status.OwnerID = int64(r.Conns.OwnerID(p))
		p.Status.Endpoint = r.Conns.URL(p)
	}
	if p.Status.Endpoint == "" {
		// Recorded before endpoints were: the one it has been using.
		p.Status.Endpoint = r.Conns.URL(p)
	}
	conn, err := r.Conns.ForProject(ctx, p)
	if err != nil {
		return shared.Problem("reading credentials", err), secretRecheck(err, r.Timing.ErrorRetry)
	}
	owner := uint(p.Status.OwnerID)
	name := p.Status.ProjectName

	got, err := conn.Client.GetProject(ctx, talis.ProjectGetParams{Name: name, OwnerID: owner})
	switch {
	case err == nil:
		if h, ok := r.claim(ctx, p, &got); !ok {
			return h, r.Timing.ErrorRetry
		}
	case talis.IsNotFound(err) && p.Status.ProjectID != 0:
		return shared.StalledOn(infrav1.ReasonProjectNotFound,
			fmt.Sprintf("Talis project %q (ID %d) was deleted outside Kubernetes; Talis keeps deleted names reserved, so it cannot be re-created under the same name", name, p.Status.ProjectID)), r.Timing.Resync
	case talis.IsNotFound(err):
		if h, ok := r.create(ctx, conn, p, recorded); !ok {
			return h, r.Timing.ErrorRetry
		}
	default:
		return shared.Problem("looking up the project", err), r.Timing.ErrorRetry
	}
	swept := r.sweep(ctx, conn, p)
	if h, moved := r.connectionMoved(p); moved {
		return h, swept.after(r.Timing.Resync)
	}
	switch {
	case swept.problem != nil:
		return *swept.problem, r.Timing.ErrorRetry
	case swept.message != "":
		return shared.ReadyButWarned(infrav1.ReasonStrayInstances, swept.message), swept.after(r.Timing.Resync)
	}
	return shared.FleetReady(fmt.Sprintf("Talis project %q has ID %d", name, p.Status.ProjectID)), swept.after(shared.Jitter(r.Timing.Resync))
}

func (r *Reconciler) create(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject, recorded string) (shared.Health, bool) {
	name, owner := p.Status.ProjectName, uint(p.Status.OwnerID)
	config, err := claims.ConfigWithMarker(p, r.marker(p))
	if err != nil {
		return shared.StalledOn(infrav1.ReasonTalisRejected, err.Error()), false
	}
	if h, ok := r.recordName(ctx, p, recorded); !ok {
		return h, false
	}
	params := talis.ProjectCreateParams{Name: name, Description: p.Spec.Description, OwnerID: owner, Config: config}
	created, err := conn.Client.CreateProject(ctx, params)
	if talis.IsAlreadyExists(err) {
		// Ours from a create whose response was lost, or someone else's / a deleted one's name.
		got, gerr := conn.Client.GetProject(ctx, talis.ProjectGetParams{Name: name, OwnerID: owner})
		if gerr != nil {
			return shared.StalledOn(infrav1.ReasonNameReserved,
				fmt.Sprintf("Talis project name %q is taken by another owner or by a deleted project (Talis keeps deleted names reserved); set spec.projectName to another name (it can be changed until a Talis project has been created for this object)", name)), false
		}
		return r.claim(ctx, p, &got)
	}
	if err != nil {
		return shared.Problem("creating the project", err), false
	}
	p.Status.ProjectID = int64(created.ID)
	// Just created: nothing is in it, and its sets create only once they read this status.
	none := int64(0)
	p.Status.SweepAfterID = &none
	r.Recorder.Eventf(p, nil, "Normal", "Created", "Create", "Created Talis project %q (ID %d)", name, created.ID)
	return shared.Health{}, true
}

func (r *Reconciler) reconcileDelete(ctx context.Context, p *infrav1.TalisProject) outcome {
	if !controllerutil.ContainsFinalizer(p, infrav1.Finalizer) {
		return outcome{gone: true}
	}
	var sets infrav1.TalisInstanceSetList
	if err := r.List(ctx, &sets, client.InNamespace(p.Namespace), client.MatchingFields{shared.ProjectRefIndex: p.Name}); err != nil {
		return outcome{err: err}
	}
	// Strays are swept while the project is deleted too (unless it leaves its Talis project with
	// deletionPolicy Orphan): the late create of a set deleted just before it must not stop it.
	var swept sweepOutcome
	if sweepsProject(p) {
		if conn, err := r.Conns.ForProject(ctx, p); err == nil {
			swept = r.sweep(ctx, conn, p)
		}
	}
	if n := len(sets.Items); n > 0 {
		h := shared.Converging(infrav1.ReasonWaitingForInstanceSets, fmt.Sprintf("waiting for %d TalisInstanceSet(s) using this project to be deleted: %s", n, setNames(sets.Items)))
		return deletingOutcome(h, swept.after(r.Timing.ErrorRetry))
	}
	if p.Spec.DeletionPolicy != infrav1.DeletionPolicyOrphan && p.Status.ProjectID != 0 {
		if h, done := r.deleteTalisProject(ctx, p, swept); !done {
			return deletingOutcome(h, swept.after(r.Timing.ErrorRetry))
		}
	}
	if err := shared.PatchFinalizers(ctx, r.Client, p, func(o client.Object) { controllerutil.RemoveFinalizer(o, infrav1.Finalizer) }); err != nil {
		return outcome{err: client.IgnoreNotFound(err), gone: true}
	}
	metrics.ObserveDeletion(metrics.KindProject, p.DeletionTimestamp)
	r.Conns.Forget(p.UID)
	r.Claims.Forget(p.UID)
	r.sweeps.unwatch(client.ObjectKeyFromObject(p))
	return outcome{gone: true}
}

func deletingOutcome(h shared.Health, after time.Duration) outcome {
	return outcome{health: &h, deleting: true, after: after}
}

// deleteTalisProject deletes the Talis project of a deleted TalisProject, unless it is not this
// object's (status names a project it did not create or adopt), another TalisProject holds it,
// or instances still live in it. done is false while the deletion has to wait, with why.
func (r *Reconciler) deleteTalisProject(ctx context.Context, p *infrav1.TalisProject, swept sweepOutcome) (h shared.Health, done bool) {
	conn, err := r.Conns.ForProject(ctx, p)
	if err != nil {
		return shared.NameKey(shared.Problem("deleting the project", err), p), false
	}
	name := p.Status.ProjectName
	got, err := conn.Client.GetProject(ctx, talis.ProjectGetParams{Name: name, OwnerID: uint(p.Status.OwnerID)})
	if talis.IsNotFound(err) {
		return shared.Health{}, true // gone already
	}
	if err != nil {
		return shared.NameKey(shared.Problem("looking up the project to delete it", err), p), false
	}
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return shared.Problem("listing TalisProjects", err), false
	}
	refusal := r.Claims.Check(p, &got, all.Items)
	if refusal == nil {
		r.Claims.Remember(p) // the sweep of a deleting project runs on verified claims only
	}
	if refusal != nil {
		r.Recorder.Eventf(p, nil, "Warning", "Kept", "Delete", "Kept Talis project %q, which is not this object's: %s", name, refusal.Message)
		return shared.Health{}, true
	}
	if r.Claims.HeldByAnother(p, &got, all.Items) {
		r.Recorder.Eventf(p, nil, "Normal", "Kept", "Delete", "Kept Talis project %q: another TalisProject still uses it", name)
		return shared.Health{}, true
	}
	live, err := liveInstances(ctx, conn, p.Status.ProjectID)
	if err != nil {
		return shared.NameKey(shared.Problem("listing the project's instances", err), p), false
	}
	if len(live) > 0 {
		return liveInstancesHealth(p, live, swept), false
	}
	if err := conn.Client.DeleteProject(ctx, talis.ProjectDeleteParams{Name: name, OwnerID: uint(p.Status.OwnerID)}); err != nil && !talis.IsNotFound(err) {
		return shared.NameKey(shared.Problem("deleting the project", err), p), false
	}
	r.Recorder.Eventf(p, nil, "Normal", "Deleted", "Delete", "Deleted Talis project %q", name)
	return shared.Health{}, true
}

// liveInstancesHealth is the health of a deleting project whose Talis project still has live
// instances: strays the sweep terminates are waited for; any other stalls the deletion, since
// deleting the Talis project would leave them running where no call by project name reaches them.
func liveInstancesHealth(p *infrav1.TalisProject, live []int64, swept sweepOutcome) shared.Health {
	var others []int64
	for _, id := range live {
		if !slices.Contains(swept.strays, id) {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return shared.Converging(infrav1.ReasonDeleting, fmt.Sprintf("waiting for the stray instances of Talis project %q to be terminated before it is deleted: %s", p.Status.ProjectName, swept.message))
	}
	msg := fmt.Sprintf(
		"Talis project %q still has %d live instance(s) that no TalisInstanceSet owns (%s); deleting the project would leave them running where no call by project name reaches them: terminate them in Talis, or set spec.deletionPolicy: Orphan",
		p.Status.ProjectName, len(others), shared.DescribeIDs(others))
	if swept.message != "" {
		msg += "; besides, " + swept.message
	}
	return shared.StalledOn(infrav1.ReasonProjectHasLiveInstances, msg)
}

func (r *Reconciler) talisProjectName(p *infrav1.TalisProject) string {
	if p.Spec.ProjectName != "" {
		return p.Spec.ProjectName
	}
	return defaultProjectName(r.Conns.ClusterID(), p.Namespace, p.Name)
}

// SetupWithManager registers the controller; sets wake their project when they go away, and
// API key Secrets the projects that name them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.TalisProject{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, shared.DeletionStarted(), claimChanged()))).
		// A deleting project waits for its sets: their disappearance matters here. So does a
		// set finding the key refused (the drift poll woke it): the project, which calls Talis
		// itself only every resync, checks the key at once.
		// A deleted set's name is remembered, so that the sweep can name it if a late create of
		// it lands.
		Watches(&infrav1.TalisInstanceSet{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			s := o.(*infrav1.TalisInstanceSet)
			r.sweeps.remember(r.Conns.ClusterID(), s, time.Now())
			return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: s.Namespace, Name: s.Spec.ProjectRef.Name}}}
		}), builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false },
			UpdateFunc: func(e event.UpdateEvent) bool { return keyRefusedNow(e.ObjectOld, e.ObjectNew) },
		})).
		// A fixed (or broken) API key Secret is picked up at once; see CacheOptions for why
		// metadata only.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.projectsOfSecret)).
		// Projects with strays are woken by the sweep's tick (sweep.go).
		WatchesRawSource(source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.waker.Start(ctx, q)
			if r.Observer != nil && r.Timing.DriftPoll > 0 {
				go r.runSweeps(ctx, r.Timing.DriftPoll)
			}
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("talisproject").
		Complete(r)
}

// claimChanged lets through an update of the Talis project that status says the object uses:
// written by someone else, it is checked at once (its sets check it themselves before use).
func claimChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*infrav1.TalisProject), e.ObjectNew.(*infrav1.TalisProject)
		return n.Status.ProjectID != 0 && (o.Status.ProjectName != n.Status.ProjectName || o.Status.ProjectID != n.Status.ProjectID ||
			o.Status.OwnerID != n.Status.OwnerID || o.Status.Endpoint != n.Status.Endpoint)
	}}
}

// setNames names up to 10 sets, in name order, and says how many more there are.
func setNames(sets []infrav1.TalisInstanceSet) string {
	names := make([]string, 0, len(sets))
	for _, s := range sets {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	const shown = 10
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}

// keyRefusedNow: a set's Synced turned InvalidCredentials with this update.
func keyRefusedNow(old, cur client.Object) bool {
	refused := func(o client.Object) bool {
		s, ok := o.(*infrav1.TalisInstanceSet)
		return ok && shared.ReasonOf(s.Status.Conditions, infrav1.ConditionSynced) == infrav1.ReasonInvalidCredentials
	}
	return refused(cur) && !refused(old)
}
