package instanceset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// reconcileInstances runs the phases of one poll: observe Talis, decide, record the decision in
// status, and only then act on Talis. Crash safety rests on that order: whatever is sent was
// recorded first, with the resourceVersion the decision was based on.
func (r *Reconciler) reconcileInstances(ctx context.Context, s *infrav1.TalisInstanceSet, p *infrav1.TalisProject) outcome {
	conn, err := r.Conns.ForProject(ctx, p)
	if err != nil {
		return healthOutcome(shared.Problem("reading credentials", err), r.Timing.ErrorRetry)
	}
	// Status can be written by others than the operator: nothing it names is used unverified.
	refusal, err := r.Claims.Verify(ctx, r.Client, conn, p)
	if err != nil {
		return healthOutcome(talisProblem(p, conn, "verifying the TalisProject's Talis project", err), r.retryDelay(client.ObjectKeyFromObject(s), err))
	}
	if refusal != nil {
		return healthOutcome(shared.StalledOn(refusal.Reason, fmt.Sprintf("TalisProject %q: %s", p.Name, refusal.Message)), r.Timing.ErrorRetry)
	}
	if _, forged := identityOf(s, r.Conns.ClusterID()); forged != nil {
		if deletedAndEmpty(s) {
			return r.removeFinalizer(ctx, s) // nothing was ever created with it
		}
		return healthOutcome(*forged, r.Timing.ErrorRetry)
	}
	obs, stop := r.observe(ctx, conn, s, p)
	if stop != nil {
		return *stop
	}
	d := r.decide(ctx, s, p, obs)
	deferred, stop := r.recordIntent(ctx, s, obs, &d)
	if stop != nil {
		return *stop
	}
	// Reported only now: a write that conflicted makes the next poll find the same news again.
	r.reportSync(ctx, s, obs.sync)
	r.reportFailures(s, obs.failed)
	r.reportTimeouts(s, d)
	return untilCreatesAllowed(r.act(ctx, conn, p, s, obs, d, deferred), d.failures)
}

// untilCreatesAllowed looks again no later than when a create held back by failures may go.
func untilCreatesAllowed(out outcome, v failureVerdict) outcome {
	now := time.Now()
	if out.health != nil {
		out.after = untilCreates(out.after, v, now)
	} else if after := untilCreates(out.res.RequeueAfter, v, now); after != out.res.RequeueAfter {
		out.res.RequeueAfter, out.res.Priority = after, nil
	}
	return out
}

// observation is what the observe phase learnt: a snapshot merged into status.
type observation struct {
	snap     *observer.Snapshot
	sync     syncResult
	orig     *infrav1.TalisInstanceSetStatus // status as last written
	recorded int64                           // a create outcome folded into status (attempt), or 0
	before   string                          // progress fingerprint before the merge
	conn     *talisconn.Connection
	failed   []failedInstance // create tasks this poll found failed
	identity string
}

// observe deals with a held create outcome, gets a fresh enough snapshot and merges it into
// status. A non-nil stop ends the reconcile with that outcome.
func (r *Reconciler) observe(ctx context.Context, conn *talisconn.Connection, s *infrav1.TalisInstanceSet,
	p *infrav1.TalisProject) (obs observation, stop *outcome) {
	key := client.ObjectKeyFromObject(s)
	if held, found := r.results.Outcome(key, &s.Status); found && held.Err != nil {
		r.after(ctx, StepCreateReturned)
		if !talis.IsAmbiguous(held.Err) {
			out := r.createFailed(conn, p, s, held)
			return obs, &out
		}
		r.results.Drop(key, held.Attempt) // the intent stands: polls look the outcome up by tag
	}
	identity := s.Status.Identity // verified by identityOf
	notBefore := r.memory.notBefore(key, s)
	if isNewSet(s) {
		// Nothing this set could have created exists; only a predecessor with the same name
		// could have left instances, and a snapshot after its last possible create shows them.
		if t := r.created.CompleteAfter(identity, r.Timing.CreateAmbiguity); !t.IsZero() && t.Before(notBefore) {
			notBefore = t
		}
	}
	snap, err := r.Observer.GetProject(conn.Key, conn.Client, shared.ObservedProject(p), notBefore, key, func() { r.waker.Wake(key) })
	if errors.Is(err, observer.ErrPending) {
		return obs, &outcome{} // woken when the list call has finished
	}
	if err != nil {
		out := healthOutcome(shared.NameKey(shared.Problem("listing instances", err), p), r.retryDelay(key, err))
		return obs, &out
	}
	st := &s.Status
	obs = observation{snap: snap, orig: st.DeepCopy(), conn: conn, identity: identity}
	if obs.recorded = r.results.Apply(key, st); obs.recorded != 0 {
		r.after(ctx, StepCreateReturned)
	}
	st.TemplateHash = TemplateHash(s.Spec.Template)
	st.ProjectName = p.Status.ProjectName
	obs.before = progressFingerprint(st)
	notReady := notReadyIDs(st)
	obs.sync = syncWithSnapshot(st, identity, snap.Project(uint(p.Status.ProjectID)), snap.StartedAt,
		r.Timing.CreateWindow(), r.watchRule(s, conn))
	obs.failed = r.readTasks(ctx, conn, st, snap.StartedAt)
	if obs.sync.watch.tasksRead {
		obs.sync.tasks = r.lookups.views(conn.Key, watchedIDs(st))
	}
	recordInstanceMetrics(s, notReady)
	return obs, nil
}

// decision is what the decide phase chose; it is in status before anything is sent.
type decision struct {
	spec     planSpec
	plan     plan
	pending  *infrav1.PendingCreate // the create to send, or nil
	health   shared.Health
	shown    shared.Health // health with the outputs' verdict folded in: what the conditions say
	failures failureVerdict
	// transition is the event the intent's write owes when a create goes with it: told with the
	// create's outcome, in one event (a converging set's events are most of its API server cost).
	transition *shared.Transition
}

// decide plans scale, rollout and replacement, and marks the decision in status.
func (r *Reconciler) decide(ctx context.Context, s *infrav1.TalisInstanceSet, p *infrav1.TalisProject, obs observation) decision {
	st := &s.Status
	now := time.Now()
	d := decision{spec: planSpecFor(s, st.TemplateHash)}
	d.failures = countFailures(s, obs.failed, r.Timing, obs.snap.StartedAt, now)
	d.spec.holdCreates = d.failures.hold
	d.plan = computePlan(d.spec, st.Instances, obs.sync.createPending, obs.snap.StartedAt, r.Timing.TerminateRetry)
	for _, id := range d.plan.condemn {
		markCondemned(st, id, now)
	}
	for _, id := range d.plan.terminate {
		markTerminateSent(st, id, now)
	}
	if n := min(d.plan.create, r.Timing.MaxCreateBatch); n > 0 {
		st.LastCreateAttempt++
		d.pending = &infrav1.PendingCreate{Attempt: st.LastCreateAttempt, Count: int32(n), TemplateHash: st.TemplateHash, RequestedAt: metav1.Time{Time: now}}
		r.Timing.CreateWindow().Promise(d.pending) // whichever manager judges it holds to this window
		st.PendingCreate = d.pending
	}
	summarize(s, d.spec)
	d.health = r.assess(s, d.spec, obs.sync, d.plan)
	d.health = withTasksNote(failureHealth(d.health, s, d.failures), obs.conn)
	if misread := shared.DeleteInstancesMisread(d.spec.deleteIgnored); misread != "" {
		d.health.Message += "; " + misread
		if r.memory.firstWarning(client.ObjectKeyFromObject(s), s.Annotations[infrav1.DeleteInstancesAnnotation]) {
			r.Recorder.Eventf(s, nil, "Warning", shared.ReasonInvalidAnnotation, "Plan", "%s", misread)
		}
	}
	d.shown = d.health.WithOutputs(r.Outputs.Of(s))
	d.shown.Apply(&st.Conditions, s.Generation)
	st.ObservedGeneration = s.Generation
	logDecision(ctx, s, p, d)
	return d
}

// recordIntent writes the decision: the protocol's write, the one besides conclude's. It carries
// the resourceVersion the decision was based on: if the cache was stale, it conflicts and
// nothing is created or terminated. A poll that decides nothing and changes nothing writes
// nothing; one that only adds detail waits until Timing.DetailWrite has passed since the set's
// last write (deferred says how long is left). A non-nil stop ends the reconcile with it.
func (r *Reconciler) recordIntent(ctx context.Context, s *infrav1.TalisInstanceSet, obs observation,
	d *decision) (deferred time.Duration, stop *outcome) {
	key := client.ObjectKeyFromObject(s)
	st := &s.Status
	write := d.pending != nil || len(d.plan.terminate) > 0 || outlineChanged(obs.orig, st)
	if !write && !equality.Semantic.DeepEqual(obs.orig, st) {
		deferred = r.memory.detailWait(key, time.Now(), r.Timing.DetailWrite)
		write = deferred == 0
	}
	if write {
		if err := r.writeStatus(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				return 0, &outcome{res: retryAtOnce}
			}
			return 0, &outcome{err: client.IgnoreNotFound(err)}
		}
		if d.shown.Reason == d.health.Reason { // the outputs reconciler reports its own problems
			d.transition = shared.TransitionOf(shared.SummaryReason(obs.orig.Conditions), st.Conditions, d.health)
			if d.pending == nil {
				d.transition.Tell(r.Recorder, s, "Reconcile")
			}
		}
		if obs.recorded != 0 {
			r.results.Drop(key, obs.recorded)
			r.after(ctx, StepCreateRecorded)
		}
		r.after(ctx, StepIntentRecorded)
	}
	r.memory.used(key, obs.snap.StartedAt)
	return deferred, nil
}

// act sends what was recorded. The create goes first: it is bounded by its own deadline from
// the moment it was recorded, and a slow terminate must not eat into it. Only a failed
// terminate has status to write (its conditions, on top of the intent written).
func (r *Reconciler) act(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, obs observation, d decision, deferred time.Duration) outcome {
	key := client.ObjectKeyFromObject(s)
	if d.pending != nil {
		r.submitCreate(conn, p, s, d.pending, d.transition)
	}
	if ids := carryingTag(d.plan.terminate, obs.snap.Project(uint(p.Status.ProjectID)), obs.identity); len(ids) > 0 {
		if err := r.terminate(ctx, conn, p, s, ids); err != nil {
			return healthOutcome(talisProblem(p, conn, "terminating instances", err), r.retryDelay(key, err))
		}
		r.after(ctx, StepTerminateSent)
	}
	if d.pending != nil {
		r.Observer.Notify(conn.Key, key, func() { r.waker.Wake(key) })
		return resultOutcome(ctrl.Result{RequeueAfter: r.memory.nextPoll(key, true)}, nil)
	}
	st := &s.Status
	if deletedAndEmpty(s) {
		r.Recorder.Eventf(s, nil, "Normal", "Deleted", "Delete", "%s", deletedNote(p))
		return r.removeFinalizer(ctx, s)
	}
	res := r.requeue(key, s, d.health, obs.before != progressFingerprint(st))
	if deferred > 0 && res.RequeueAfter > deferred {
		res.RequeueAfter, res.Priority = deferred, nil
	}
	if res.Priority == nil {
		r.Observer.Notify(conn.Key, key, func() { r.waker.Wake(key) })
	} else if r.Timing.DriftPoll > 0 && s.DeletionTimestamp.IsZero() {
		r.drift.watch(key, conn, p.Status.ProjectID, st, obs.snap.StartedAt)
	}
	return resultOutcome(res, nil)
}

func (r *Reconciler) requeue(key client.ObjectKey, s *infrav1.TalisInstanceSet, h shared.Health, changed bool) ctrl.Result {
	if h.Progressing || h.Degraded || !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{RequeueAfter: r.memory.nextPoll(key, changed)}
	}
	r.memory.steady(key)
	if watchingTerminated(&s.Status) {
		// Look often enough to terminate again promptly if a create brings one back.
		return ctrl.Result{RequeueAfter: r.Timing.PollMax, Priority: ptr.To(lowPriority)}
	}
	return ctrl.Result{RequeueAfter: shared.Jitter(r.Timing.Resync), Priority: ptr.To(lowPriority)}
}

func (r *Reconciler) terminate(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject, s *infrav1.TalisInstanceSet, ids []int64) error {
	if err := shared.Terminate(ctx, conn, p.Status.ProjectName, ids); err != nil {
		return err
	}
	r.Recorder.Eventf(s, nil, "Normal", "Terminating", "Terminate", "Asked Talis to terminate instance(s) %s", shared.DescribeIDs(ids))
	return nil
}

// carryingTag keeps the IDs the snapshot lists in the set's Talis project with the set's
// identity tag. Status entries can be written by others than the operator: an ID is terminated
// only once Talis shows it is the set's. One not listed is retried with the next terminates.
func carryingTag(ids []int64, listed []*observer.Instance, identity string) []int64 {
	ours := map[int64]bool{}
	for _, in := range listed {
		if o, ok := creates.ParseOwnership(in.Tags); ok && o.Identity == identity {
			ours[int64(in.ID)] = true
		}
	}
	kept := make([]int64, 0, len(ids))
	for _, id := range ids {
		if ours[id] {
			kept = append(kept, id)
		}
	}
	return kept
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

// watchRule is when the set's instances terminated before their create finished stop being watched.
func (r *Reconciler) watchRule(s *infrav1.TalisInstanceSet, conn *talisconn.Connection) watchRule {
	wr := watchRule{tasksRead: r.Timing.TaskCheck > 0 && tasksVisible(conn), settle: r.Timing.TerminateSettle,
		hidden: hiddenWatch(planSpecFor(s, "").provisioning, r.Timing.CreateWindow())}
	switch {
	case !tasksVisible(conn):
		wr.hiddenWhy = fmt.Sprintf("Talis shows tasks only to owner %d, not to owner %d", talis.AdminOwnerID, conn.OwnerID)
	case r.Timing.TaskCheck <= 0:
		wr.hiddenWhy = "task look-ups are off (--task-check 0)"
	}
	return wr
}

// watchedIDs are the instances status keeps, seen terminated, in case their create undoes it.
func watchedIDs(st *infrav1.TalisInstanceSetStatus) []int64 {
	var ids []int64
	for _, in := range st.Instances {
		if in.TerminatedAt != nil {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

// watchingTerminated is true while status keeps an instance seen terminated before its create
// was known to be done.
func watchingTerminated(st *infrav1.TalisInstanceSetStatus) bool {
	for _, in := range st.Instances {
		if in.TerminatedAt != nil {
			return true
		}
	}
	return false
}

// isNewSet is true for a set that has never made a create call: its attempt counter is written
// with the intent, before any call, so a stale cache that hides one makes the intent conflict.
func isNewSet(s *infrav1.TalisInstanceSet) bool {
	st := &s.Status
	return st.LastCreateAttempt == 0 && st.PendingCreate == nil && len(st.Instances) == 0
}

// retryDelay honours Talis's Retry-After, backs off on passing trouble, and waits longer on
// problems only a person can fix.
func (r *Reconciler) retryDelay(key client.ObjectKey, err error) time.Duration {
	if d, ok := talis.RetryAfter(err); ok {
		return max(d, r.Timing.PollMin)
	}
	if shared.Problem("", err).Stalled {
		return r.Timing.ErrorRetry
	}
	return r.memory.nextPoll(key, false)
}

// progressFingerprint changes whenever an instance appears, goes or changes state.
func progressFingerprint(st *infrav1.TalisInstanceSetStatus) string {
	var b []byte
	for _, in := range st.Instances {
		b = fmt.Appendf(b, "%d:%s:%t;", in.ID, in.State, in.TerminatingSince != nil)
	}
	return string(b)
}
