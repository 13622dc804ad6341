package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
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
	snap, err := r.Observer.Get(ctx, conn.Key, conn.Client, r.polls.notBefore(key, s))
	if err != nil {
		return r.finish(ctx, s, problem("listing instances", err), r.retryDelay(key, err))
	}
	now := time.Now()
	st := &s.Status
	hash := templateHash(s.Spec.Template)
	identity := setIdentity(s.Namespace, s.Name)
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
	if err := r.Status().Update(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Millisecond}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.polls.used(key, snap.StartedAt)
	r.after(ctx, StepIntentRecorded)

	if len(pl.terminate) > 0 {
		if err := r.terminate(ctx, conn, p, s, pl.terminate); err != nil {
			return r.finish(ctx, s, problem("terminating instances", err), r.retryDelay(key, err))
		}
		r.after(ctx, StepTerminateSent)
	}
	if pc != nil {
		if res, done, err := r.create(ctx, conn, p, s, pc); done {
			return res, err
		}
	}
	if !s.DeletionTimestamp.IsZero() && len(st.Instances) == 0 && st.PendingCreate == nil {
		r.Recorder.Eventf(s, nil, "Normal", "Deleted", "Delete", "All instances are terminated in Talis")
		return ctrl.Result{}, r.removeFinalizer(ctx, s)
	}
	return r.requeue(key, s, h, before != progressFingerprint(st)), nil
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

// create makes the call recorded in pc and records its outcome. done is false when the
// reconcile should go on as usual.
func (r *TalisInstanceSetReconciler) create(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate) (ctrl.Result, bool, error) {
	req := instanceRequest(s, p, conn.OwnerID, pc)
	created, err := conn.Client.CreateInstance(ctx, []talis.InstanceRequest{req})
	r.after(ctx, StepCreateReturned)
	key := client.ObjectKeyFromObject(s)
	if err != nil && talis.IsAmbiguous(err) {
		// Leave the intent in place: the next reconciles look the outcome up by tag.
		r.Recorder.Eventf(s, nil, "Warning", infrav1.ReasonCreateOutcomeUnknown, "Create",
			"Create call for %d instance(s) (attempt %d) failed in a way that may have created them; looking them up in Talis before trying again: %v", pc.Count, pc.Attempt, err)
		return ctrl.Result{RequeueAfter: r.polls.next(key, true)}, true, nil
	}
	now := time.Now()
	uerr := r.updateStatus(ctx, s, func(st *infrav1.TalisInstanceSetStatus) {
		if st.PendingCreate == nil || st.PendingCreate.Attempt != pc.Attempt {
			return
		}
		st.PendingCreate = nil
		if err == nil {
			st.Instances = append(st.Instances, instancesFromCreate(created, pc, now)...)
		}
	})
	if err != nil {
		h := problem("creating instances", err)
		if talis.IsNotFound(err) {
			h = health{stalled: true, reason: infrav1.ReasonProjectNotFound,
				message: fmt.Sprintf("Talis has no project %q for owner %d: %v", p.Status.ProjectName, conn.OwnerID, err)}
		}
		r.Recorder.Eventf(s, nil, "Warning", h.reason, "Create", "%s", h.message)
		res, ferr := r.finish(ctx, s, h, r.retryDelay(key, err))
		return res, true, ferr
	}
	if uerr != nil {
		logf.FromContext(ctx).Info("recording created instances failed; they will be adopted by tag", "error", uerr.Error())
	} else {
		r.after(ctx, StepCreateRecorded)
	}
	r.Recorder.Eventf(s, nil, "Normal", "Created", "Create", "Created %d instance(s) in Talis (attempt %d): %s", len(created), pc.Attempt, describeIDs(instanceIDs(created)))
	return ctrl.Result{RequeueAfter: r.polls.next(key, true)}, true, nil
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
		return r.Status().Update(ctx, s)
	})
}

func instanceRequest(s *infrav1.TalisInstanceSet, p *infrav1.TalisProject, owner uint, pc *infrav1.PendingCreate) talis.InstanceRequest {
	t := s.Spec.Template
	req := talis.InstanceRequest{
		OwnerID: owner, Provider: string(t.Provider), Region: t.Region, Size: t.Size, Image: t.Image,
		Tags:        instanceTags(setIdentity(s.Namespace, s.Name), pc.Attempt, pc.TemplateHash, t.Tags),
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
