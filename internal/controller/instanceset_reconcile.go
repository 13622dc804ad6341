package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// reconcileInstances observes, decides, records the decision, and only then acts on Talis.
func (r *TalisInstanceSetReconciler) reconcileInstances(ctx context.Context, s *infrav1.TalisInstanceSet, p *infrav1.TalisProject) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s)
	conn, err := r.Conns.ForProject(ctx, p)
	if err != nil {
		return r.finish(ctx, s, problem("reading credentials", err), r.Timing.ErrorRetry)
	}
	if res, ok := r.results.outcome(key, &s.Status); ok && res.err != nil {
		r.after(ctx, StepCreateReturned)
		if !talis.IsAmbiguous(res.err) {
			return r.createFailed(ctx, conn, p, s, res)
		}
		r.results.drop(key, res.attempt) // the intent stands: polls look the outcome up by tag
	}
	identity := identityOf(s, r.Conns.ClusterID())
	notBefore := r.polls.notBefore(key, s)
	if isNewSet(s) {
		// Nothing this set could have created exists; only a predecessor with the same name
		// could have left instances, and a snapshot after its last possible create shows them.
		if t := r.created.completeAfter(identity, r.Timing.CreateAmbiguity); !t.IsZero() && t.Before(notBefore) {
			notBefore = t
		}
	}
	snap, err := r.snapshot(ctx, conn, notBefore, key)
	if errors.Is(err, observer.ErrPending) {
		return ctrl.Result{}, nil // woken when the list call has finished
	}
	if err != nil {
		return r.finish(ctx, s, problem("listing instances", err), r.retryDelay(key, err))
	}
	now := time.Now()
	st := &s.Status
	orig := st.DeepCopy()
	recorded := r.results.apply(key, st)
	if recorded != 0 {
		r.after(ctx, StepCreateReturned)
	}
	hash := templateHash(s.Spec.Template)
	st.TemplateHash = hash
	st.ProjectName = p.Status.ProjectName
	before := progressFingerprint(st)
	notReady := notReadyIDs(st)
	sync := syncWithSnapshot(st, identity, snap.Project(uint(p.Status.ProjectID)), snap.StartedAt, r.Timing.CreateAmbiguity)
	r.reportSync(s, sync)
	recordInstanceMetrics(s, notReady)

	ps := planSpecFor(s, hash)
	pl := computePlan(ps, st.Instances, sync.createPending, now, snap.StartedAt, r.Timing.TerminateRetry)
	for _, id := range pl.condemn {
		markCondemned(st, id, now)
	}
	for _, id := range pl.terminate {
		markTerminateSent(st, id, now)
	}
	var pc *infrav1.PendingCreate
	if n := min(pl.create, r.Timing.MaxCreateBatch); n > 0 {
		st.LastCreateAttempt++
		pc = &infrav1.PendingCreate{Attempt: st.LastCreateAttempt, Count: int32(n), TemplateHash: hash, RequestedAt: metav1.Time{Time: now}}
		st.PendingCreate = pc
	}
	summarize(s, ps)

	// The intent is written with the resourceVersion this decision was based on: if the cache was
	// stale, the write conflicts and nothing is created or terminated.
	h := r.assess(s, ps, sync, pl)
	h.apply(&st.Conditions, s.Generation)
	st.ObservedGeneration = s.Generation
	// A poll that changes nothing and decides nothing writes nothing; one that only adds detail
	// waits until Timing.DetailWrite has passed since the set's last write.
	var deferred time.Duration
	write := pc != nil || len(pl.terminate) > 0 || outlineChanged(orig, st)
	if !write && !equality.Semantic.DeepEqual(orig, st) {
		deferred = r.pacer.wait(key, now, r.Timing.DetailWrite)
		write = deferred == 0
	}
	if write {
		if err := r.writeStatus(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: time.Millisecond}, nil
			}
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if recorded != 0 {
			r.results.drop(key, recorded)
			r.after(ctx, StepCreateRecorded)
		}
		r.after(ctx, StepIntentRecorded)
	}
	r.polls.used(key, snap.StartedAt)

	if len(pl.terminate) > 0 {
		if err := r.terminate(ctx, conn, p, s, pl.terminate); err != nil {
			return r.finish(ctx, s, problem("terminating instances", err), r.retryDelay(key, err))
		}
		r.after(ctx, StepTerminateSent)
	}
	if pc != nil {
		return r.create(ctx, conn, p, s, pc)
	}
	if !s.DeletionTimestamp.IsZero() && len(st.Instances) == 0 && st.PendingCreate == nil {
		r.Recorder.Eventf(s, nil, "Normal", "Deleted", "Delete", "All instances are terminated in Talis")
		return ctrl.Result{}, r.removeFinalizer(ctx, s)
	}
	res := r.requeue(key, s, h, before != progressFingerprint(st))
	if deferred > 0 && res.RequeueAfter > deferred {
		res.RequeueAfter, res.Priority = deferred, nil
	}
	if res.Priority == nil && r.waker.started() {
		r.Observer.Notify(conn.Key, key, func() { r.waker.wake(key) })
	}
	return res, nil
}

func (r *TalisInstanceSetReconciler) requeue(key client.ObjectKey, s *infrav1.TalisInstanceSet, h health, changed bool) ctrl.Result {
	if h.progressing || h.degraded || !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{RequeueAfter: r.polls.next(key, changed)}
	}
	r.polls.steady(key)
	return ctrl.Result{RequeueAfter: jitter(r.Timing.Resync), Priority: ptrInt(lowPriority)}
}

func (r *TalisInstanceSetReconciler) terminate(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject, s *infrav1.TalisInstanceSet, ids []int64) error {
	uids := make([]uint, len(ids))
	for i, id := range ids {
		uids[i] = uint(id)
	}
	err := conn.Client.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: conn.OwnerID, ProjectName: p.Status.ProjectName, InstanceIDs: uids})
	if err != nil {
		return err
	}
	r.Recorder.Eventf(s, nil, "Normal", "Terminating", "Terminate", "Asked Talis to terminate instance(s) %s", describeIDs(ids))
	return nil
}

// create submits the call recorded in pc to the endpoint's batcher and returns at once: the
// call goes out together with other sets' creates, and its outcome is held in memory until a
// later reconcile of the set records it. If this process dies first, the intent stands and
// the instances are found by their tags, like after any lost response. A reconciler driven
// by hand, without a controller to come back to it, waits for the call and records it itself.
func (r *TalisInstanceSetReconciler) create(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate) (ctrl.Result, error) {
	req := instanceRequest(s, p, conn.OwnerID, pc)
	key := client.ObjectKeyFromObject(s)
	regarding := s.DeepCopy()
	r.created.sending(s.Status.Identity, time.Now(), r.Timing.CreateAmbiguity)
	if r.waker.started() {
		r.batcher().Submit(r.waker.context(), conn.Key, conn.Client, req, func(created []*talis.Instance, err error) {
			r.results.put(key, r.outcome(regarding, pc, created, err))
			if err != nil {
				r.waker.wake(key) // a refused create is reported at once
			}
		})
		r.Observer.Notify(conn.Key, key, func() { r.waker.wake(key) })
		return ctrl.Result{RequeueAfter: r.polls.next(key, true)}, nil
	}
	created, err := r.batcher().Create(ctx, conn.Key, conn.Client, req)
	res := r.outcome(regarding, pc, created, err)
	r.after(ctx, StepCreateReturned)
	switch {
	case err == nil:
		if uerr := r.updateStatus(ctx, s, func(st *infrav1.TalisInstanceSetStatus) {
			if st.PendingCreate != nil && st.PendingCreate.Attempt == pc.Attempt {
				st.PendingCreate = nil
				st.Instances = append(st.Instances, res.instances...)
			}
		}); uerr == nil {
			r.after(ctx, StepCreateRecorded)
		}
	case !talis.IsAmbiguous(err):
		return r.createFailed(ctx, conn, p, s, res)
	}
	return ctrl.Result{RequeueAfter: r.polls.next(key, true)}, nil
}

// outcome turns what a create call returned into a held result, and reports it in events.
func (r *TalisInstanceSetReconciler) outcome(regarding *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate, created []*talis.Instance, err error) createResult {
	res := createResult{attempt: pc.Attempt, err: err}
	switch {
	case err == nil:
		res.instances = instancesFromCreate(created, pc, time.Now())
		r.Recorder.Eventf(regarding, nil, "Normal", "Created", "Create", "Created %d instance(s) in Talis (attempt %d): %s",
			len(created), pc.Attempt, describeIDs(instanceIDs(created)))
	case talis.IsAmbiguous(err):
		r.Recorder.Eventf(regarding, nil, "Warning", infrav1.ReasonCreateOutcomeUnknown, "Create",
			"Create call for %d instance(s) (attempt %d) failed in a way that may have created them; looking them up in Talis before trying again: %v", pc.Count, pc.Attempt, err)
	}
	return res
}

// createFailed handles a create that Talis refused without effect: the intent is cleared and
// the problem reported.
func (r *TalisInstanceSetReconciler) createFailed(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, res createResult) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s)
	if err := r.updateStatus(ctx, s, func(st *infrav1.TalisInstanceSetStatus) {
		if st.PendingCreate != nil && st.PendingCreate.Attempt == res.attempt {
			st.PendingCreate = nil
		}
	}); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.results.drop(key, res.attempt)
	h := problem("creating instances", res.err)
	if talis.IsNotFound(res.err) {
		h = health{stalled: true, reason: infrav1.ReasonProjectNotFound,
			message: fmt.Sprintf("Talis has no project %q for owner %d: %v", p.Status.ProjectName, conn.OwnerID, res.err)}
	}
	r.Recorder.Eventf(s, nil, "Warning", h.reason, "Create", "%s", h.message)
	return r.finish(ctx, s, h, r.retryDelay(key, res.err))
}

// updateStatus applies mutate to the freshest copy of the set, retrying on conflicts.
func (r *TalisInstanceSetReconciler) updateStatus(ctx context.Context, s *infrav1.TalisInstanceSet, mutate func(*infrav1.TalisInstanceSetStatus)) error {
	first := true
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
				return err
			}
		}
		first = false
		mutate(&s.Status)
		summarize(s, planSpecFor(s, s.Status.TemplateHash))
		return r.writeStatus(ctx, s)
	})
}

func instanceRequest(s *infrav1.TalisInstanceSet, p *infrav1.TalisProject, owner uint, pc *infrav1.PendingCreate) talis.InstanceRequest {
	t := s.Spec.Template
	req := talis.InstanceRequest{
		OwnerID: owner, Provider: string(t.Provider), Region: t.Region, Size: t.Size, Image: t.Image,
		Tags:        instanceTags(s.Status.Identity, pc.Attempt, pc.TemplateHash, t.Tags),
		ProjectName: p.Status.ProjectName, Name: fmt.Sprintf("%s-a%d", s.Name, pc.Attempt),
		NumberOfInstances: int(pc.Count), Provision: t.Provision, PayloadPath: t.PayloadPath,
		ExecutePayload: t.ExecutePayload, SSHKeyType: t.SSHKeyType, SSHKeyPath: t.SSHKeyPath,
	}
	if t.CPU != nil {
		req.CPU = int(*t.CPU)
	}
	if t.Memory != nil {
		req.Memory = int(*t.Memory)
	}
	for _, v := range t.Volumes {
		req.Volumes = append(req.Volumes, talis.VolumeConfig{Name: v.Name, SizeGB: int(v.SizeGB), Region: v.Region, FileSystem: v.Filesystem, MountPoint: v.MountPoint})
	}
	return req
}

func instanceIDs(in []*talis.Instance) []int64 {
	out := make([]int64, len(in))
	for i, x := range in {
		out[i] = int64(x.ID)
	}
	return out
}

func markCondemned(st *infrav1.TalisInstanceSetStatus, id int64, now time.Time) {
	for i := range st.Instances {
		if st.Instances[i].ID == id && st.Instances[i].TerminatingSince == nil {
			st.Instances[i].TerminatingSince = &metav1.Time{Time: now}
		}
	}
}

func markTerminateSent(st *infrav1.TalisInstanceSetStatus, id int64, now time.Time) {
	for i := range st.Instances {
		if st.Instances[i].ID == id {
			st.Instances[i].TerminateRequestedAt = &metav1.Time{Time: now}
		}
	}
}

func ptrInt(v int) *int { return &v }

// snapshot returns a snapshot that started at or after notBefore, or ErrPending: the set is
// woken when the list call it waits for has finished, and the worker is free meanwhile.
func (r *TalisInstanceSetReconciler) snapshot(ctx context.Context, conn *talisconn.Connection, notBefore time.Time, key client.ObjectKey) (*observer.Snapshot, error) {
	if r.waker.started() {
		return r.Observer.Get(conn.Key, conn.Client, notBefore, key, func() { r.waker.wake(key) })
	}
	// Reconciler driven by hand, without a controller to wake it: wait for the call. Such
	// callers may run concurrently for one set, so each waits as a waiter of its own.
	waiter := new(byte)
	for {
		done := make(chan struct{})
		var once sync.Once
		snap, err := r.Observer.Get(conn.Key, conn.Client, notBefore, waiter, func() { once.Do(func() { close(done) }) })
		if !errors.Is(err, observer.ErrPending) {
			return snap, err
		}
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (r *TalisInstanceSetReconciler) batcher() *observer.Batcher {
	r.batcherOnce.Do(func() {
		if r.Creates == nil {
			// A queued or running create must end well within the ambiguity window.
			r.Creates = observer.NewBatcher(r.Timing.CreateAmbiguity / 2)
		}
	})
	return r.Creates
}

// isNewSet is true for a set that has never made a create call: its attempt counter is written
// with the intent, before any call, so a stale cache that hides one makes the intent conflict.
func isNewSet(s *infrav1.TalisInstanceSet) bool {
	st := &s.Status
	return st.LastCreateAttempt == 0 && st.PendingCreate == nil && len(st.Instances) == 0
}

// retryDelay honours Talis's Retry-After, backs off on passing trouble, and waits longer on
// problems only a person can fix.
func (r *TalisInstanceSetReconciler) retryDelay(key client.ObjectKey, err error) time.Duration {
	if d, ok := talis.RetryAfter(err); ok {
		return max(d, r.Timing.PollMin)
	}
	if problem("", err).stalled {
		return r.Timing.ErrorRetry
	}
	return r.polls.next(key, false)
}

// progressFingerprint changes whenever an instance appears, goes or changes state.
func progressFingerprint(st *infrav1.TalisInstanceSetStatus) string {
	var b []byte
	for _, in := range st.Instances {
		b = fmt.Appendf(b, "%d:%s:%t;", in.ID, in.State, in.TerminatingSince != nil)
	}
	return string(b)
}
