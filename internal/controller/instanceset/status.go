package instanceset

import (
	"context"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// summarize derives the counters, the IP list (in instance ID order) and its summary, and the
// scale selector from the instance entries.
func summarize(s *infrav1.TalisInstanceSet, ps planSpec) {
	st := &s.Status
	st.Replicas, st.ReadyReplicas, st.UpdatedReplicas = 0, 0, 0
	st.PublicIPs = nil
	for _, in := range st.Instances {
		if in.TerminatingSince != nil {
			continue
		}
		st.Replicas++
		if shared.InstanceReady(in) {
			st.ReadyReplicas++
			if in.PublicIP != "" {
				st.PublicIPs = append(st.PublicIPs, in.PublicIP)
			}
		}
		if in.TemplateHash == ps.templateHash {
			st.UpdatedReplicas++
		}
	}
	st.PublicIPSummary = ipSummary(st.PublicIPs)
	st.Selector = setSelector(s.Name)
}

// assess says how the set is doing after this reconcile's decisions.
func (r *Reconciler) assess(s *infrav1.TalisInstanceSet, ps planSpec, sync syncResult, pl plan) shared.Health {
	st := &s.Status
	want := int32(ps.replicas)
	terminating := 0
	for _, in := range st.Instances {
		// An instance seen terminated and only watched in case its create undoes that is
		// not part of the fleet: it does not keep the set from being Ready.
		if in.TerminatingSince != nil && in.TerminatedAt == nil {
			terminating++
		}
	}
	if !s.DeletionTimestamp.IsZero() {
		return shared.Converging(infrav1.ReasonDeleting, deletingMessage(st, sync))
	}
	settled := st.ReadyReplicas == want && st.UpdatedReplicas == want && st.Replicas == want &&
		terminating == 0 && st.PendingCreate == nil && pl.create == 0
	if settled {
		return shared.FleetReady(fmt.Sprintf("%d/%d instances ready", st.ReadyReplicas, want))
	}

	switch {
	case len(pl.timedOut) > 0:
		return shared.Repairing(infrav1.ReasonProvisioningTimeout,
			fmt.Sprintf("instance(s) %s not ready within %s; replacing them", shared.DescribeIDs(pl.timedOut), ps.provisioning))
	case len(sync.vanished) > 0:
		return shared.Repairing(infrav1.ReasonInstanceTerminated,
			fmt.Sprintf("instance(s) %s were terminated outside Kubernetes; replacing them", shared.DescribeIDs(vanishedIDs(sync.vanished))))
	case stillDegraded(st):
		// Keep saying so until the replacements are ready: a poll in between must not flap.
		c := shared.FindCondition(st.Conditions, infrav1.ConditionDegraded)
		return shared.Repairing(c.Reason, c.Message)
	case sync.createPending:
		return shared.Converging(infrav1.ReasonCreateOutcomeUnknown,
			fmt.Sprintf("looking up in Talis whether create attempt %d made its instances", st.PendingCreate.Attempt))
	case st.UpdatedReplicas < st.Replicas || (st.UpdatedReplicas < want && st.Replicas >= want):
		return shared.Converging(infrav1.ReasonRollingOut,
			fmt.Sprintf("replacing outdated instances: %d/%d updated, %d ready", st.UpdatedReplicas, want, st.ReadyReplicas))
	case st.Replicas > want || terminating > 0 && st.Replicas <= want && st.ReadyReplicas == st.Replicas && st.Replicas == want:
		return shared.Converging(infrav1.ReasonTerminating, fmt.Sprintf("terminating %d instance(s)", max(terminating, int(st.Replicas-want))))
	case st.Replicas < want || pl.create > 0:
		return shared.Converging(infrav1.ReasonCreating, fmt.Sprintf("creating instances: %d/%d exist, %d ready", st.Replicas, want, st.ReadyReplicas))
	default:
		return shared.Converging(infrav1.ReasonProvisioning, fmt.Sprintf("waiting for instances to become ready: %d/%d ready", st.ReadyReplicas, want))
	}
}

// deletingMessage names what a deleting set waits for: instances still to terminate, and those
// terminated but watched in case a create still running brings them back, with what ends that.
func deletingMessage(st *infrav1.TalisInstanceSetStatus, sync syncResult) string {
	var live, watched []int64
	for _, in := range st.Instances {
		if in.TerminatedAt != nil {
			watched = append(watched, in.ID)
		} else {
			live = append(live, in.ID)
		}
	}
	msg := fmt.Sprintf("terminating %d instance(s) before the set is deleted", len(st.Instances))
	if len(live) > 0 {
		msg += fmt.Sprintf("; waiting for %s to terminate", shared.DescribeIDs(live))
	}
	if len(watched) > 0 {
		msg += fmt.Sprintf("; watching %s, terminated, in case a create still running brings them back, ", shared.DescribeIDs(watched)) +
			watchMessage(st, sync)
	}
	if st.PendingCreate != nil {
		msg += fmt.Sprintf("; waiting to learn whether create attempt %d made instances", st.PendingCreate.Attempt)
	}
	return msg
}

// watchMessage says what ends the watch of the instances status keeps terminated.
func watchMessage(st *infrav1.TalisInstanceSetStatus, sync syncResult) string {
	wr := sync.watch
	if !wr.tasksRead {
		var end time.Time
		var ended []int64
		for _, in := range st.Instances {
			if in.TerminatedAt == nil {
				continue
			}
			if createEnded(in) { // recorded while tasks could be read
				ended = append(ended, in.ID)
			} else if e := wr.hiddenEnd(&in); e.After(end) {
				end = e
			}
		}
		msg := ""
		if !end.IsZero() {
			msg = fmt.Sprintf("until a list after %s still shows them terminated: %s, so the end of a create cannot be seen; "+
				"the watch lasts until it could have finished: the provisioning timeout plus the create window (%s) after the instance was first seen, "+
				"and at least --terminate-settle (%s) after it was seen terminated", end.UTC().Format(time.RFC3339), wr.hiddenWhy, wr.hidden, wr.settle)
		}
		if len(ended) > 0 {
			if msg != "" {
				msg += "; "
			}
			msg += fmt.Sprintf("%s: create task done, the watch ends with the next list", shared.DescribeIDs(ended))
		}
		return msg
	}
	var done, running, pending, unread, failing []int64
	var lockUntil time.Time
	var lastErr string
	for _, in := range st.Instances {
		if in.TerminatedAt == nil {
			continue
		}
		if createEnded(in) {
			done = append(done, in.ID)
			continue
		}
		v, ok := sync.tasks[in.ID]
		switch {
		case !ok || v.status == "" && v.err == "":
			unread = append(unread, in.ID)
		case v.err != "":
			failing, lastErr = append(failing, in.ID), v.err
		case v.status == talis.TaskStatusPending:
			pending = append(pending, in.ID)
		default:
			running = append(running, in.ID)
			if v.lockUntil.After(lockUntil) {
				lockUntil = v.lockUntil
			}
		}
	}
	parts := []string{}
	if len(done) > 0 {
		parts = append(parts, fmt.Sprintf("%s: create task done, the watch ends with the next list", shared.DescribeIDs(done)))
	}
	if len(running) > 0 {
		p := fmt.Sprintf("%s: create task still running", shared.DescribeIDs(running))
		if !lockUntil.IsZero() {
			p += fmt.Sprintf(", its worker holds it until %s (after that Talis hands it to another worker, which finds the instance terminated)",
				lockUntil.UTC().Format(time.RFC3339))
		}
		parts = append(parts, p)
	}
	if len(pending) > 0 {
		parts = append(parts, fmt.Sprintf("%s: create task not started yet (a worker that starts it finds the instance terminated)", shared.DescribeIDs(pending)))
	}
	if len(unread) > 0 {
		parts = append(parts, fmt.Sprintf("%s: create task not read yet", shared.DescribeIDs(unread)))
	}
	if len(failing) > 0 {
		parts = append(parts, fmt.Sprintf("%s: reading the create task failed, tried again every poll: %s", shared.DescribeIDs(failing), lastErr))
	}
	return "until Talis shows their create task done (completed, failed, or no worker holding it): " + strings.Join(parts, "; ")
}

func stillDegraded(st *infrav1.TalisInstanceSetStatus) bool {
	c := shared.FindCondition(st.Conditions, infrav1.ConditionDegraded)
	return c != nil && c.Status == "True" &&
		(c.Reason == infrav1.ReasonInstanceTerminated || c.Reason == infrav1.ReasonProvisioningTimeout)
}

// reportTimeouts names the instances this poll condemned for missing the provisioning timeout:
// the condition says it only until another reason (a failed create) takes its place.
func (r *Reconciler) reportTimeouts(s *infrav1.TalisInstanceSet, d decision) {
	if len(d.plan.timedOut) > 0 {
		r.Recorder.Eventf(s, nil, "Warning", infrav1.ReasonProvisioningTimeout, "Observe",
			"Instance(s) %s not ready within %s; terminating and replacing them", shared.DescribeIDs(d.plan.timedOut), d.spec.provisioning)
	}
}

func vanishedIDs(v []infrav1.TalisInstance) []int64 {
	out := make([]int64, len(v))
	for i, in := range v {
		out[i] = in.ID
	}
	return out
}

// reportSync emits events for what the snapshot revealed, and logs the create verdicts.
func (r *Reconciler) reportSync(ctx context.Context, s *infrav1.TalisInstanceSet, sync syncResult) {
	log := ctrl.LoggerFrom(ctx).V(1)
	if len(sync.adopted) > 0 {
		metrics.CountAdoptions(metrics.KindInstance, len(sync.adopted))
		r.Recorder.Eventf(s, nil, "Normal", "Adopted", "Adopt", "Adopted instance(s) %s tagged for this set", shared.DescribeIDs(sync.adopted))
	}
	if pc := sync.confirmed; pc != nil {
		log.Info("create confirmed by tag", "attempt", pc.Attempt)
		r.Recorder.Eventf(s, nil, "Normal", "CreateConfirmed", "Create", "Found the instances of create attempt %d in Talis", pc.Attempt)
	}
	if pc := sync.notApplied; pc != nil {
		log.Info("create not applied", "attempt", pc.Attempt, "requestedAt", pc.RequestedAt.Time)
		r.Recorder.Eventf(s, nil, "Normal", "CreateNotApplied", "Create", "Create attempt %d made no instances in Talis; trying again", pc.Attempt)
	}
	if len(sync.late) > 0 {
		log.Info("late create arrivals", "instances", sync.late)
		r.Recorder.Eventf(s, nil, "Warning", "LateCreateFound", "Observe",
			"Instance(s) %s of a create attempt already resolved reached Talis late; they count as the set's own, and any surplus is terminated", shared.DescribeIDs(sync.late))
	}
	if len(sync.undone) > 0 {
		log.Info("terminate undone by a running create", "instances", sync.undone)
		r.Recorder.Eventf(s, nil, "Warning", "TerminateUndone", "Observe",
			"Talis brought instance(s) %s back after a terminate (their create was still running); terminating them again", shared.DescribeIDs(sync.undone))
	}
	if len(sync.vanished) > 0 {
		metrics.CountDriftReplacements(len(sync.vanished))
		r.Recorder.Eventf(s, nil, "Warning", infrav1.ReasonInstanceTerminated, "Observe",
			"Instance(s) %s were terminated outside Kubernetes; they will be replaced", shared.DescribeIDs(vanishedIDs(sync.vanished)))
	}
}

// logDecision logs, at V(1), what a reconcile is about to record and then send.
func logDecision(ctx context.Context, s *infrav1.TalisInstanceSet, p *infrav1.TalisProject, d decision) {
	log := ctrl.LoggerFrom(ctx).V(1)
	if !log.Enabled() {
		return
	}
	if len(d.plan.condemn) > 0 {
		log.Info("condemning instances", "instances", d.plan.condemn, "timedOut", d.plan.timedOut)
	}
	if len(d.plan.terminate) > 0 {
		log.Info("terminating instances", "instances", d.plan.terminate, "project", p.Status.ProjectName)
	}
	if pc := d.pending; pc != nil {
		log.Info("create attempt", "attempt", pc.Attempt, "count", pc.Count, "templateHash", pc.TemplateHash,
			"project", p.Status.ProjectName, "generation", s.Generation)
	}
}
