package instanceset

import (
	"errors"
	"fmt"
	"time"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// submitCreate hands the call recorded in pc to the endpoint's batcher and returns at once: the
// call goes out together with other sets' creates, never after pc's deadline, and its outcome
// is held in memory until a later reconcile of the set records it. If this process dies first,
// the intent stands and the instances are found by their tags, like after any lost response.
func (r *Reconciler) submitCreate(conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate, transition *shared.Transition) {
	req := InstanceRequest(s, p, conn.OwnerID, pc)
	key := client.ObjectKeyFromObject(s)
	regarding := s.DeepCopy()
	deadline := r.Timing.CreateWindow().Deadline(pc.RequestedAt.Time)
	r.created.Sending(s.Status.Identity, time.Now(), r.Timing.CreateAmbiguity)
	r.creates.Submit(r.waker.Context(), conn.Key, conn.Client, req, deadline, func(created []*talis.Instance, err error) {
		r.results.Put(key, r.createResult(regarding, pc, transition, created, err))
		if err != nil {
			r.waker.Wake(key) // a refused create is reported at once
		}
	})
}

// createResult turns what a create call returned into the result held for the set's next
// reconcile (r.results.Outcome hands it over), and reports it in events. The transition the
// intent's write owes (Creating, usually) is told here, together with a success: one event for
// the change a user reads and what the create made.
func (r *Reconciler) createResult(regarding *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate,
	transition *shared.Transition, created []*talis.Instance, err error) creates.Result {
	res := creates.Result{Attempt: pc.Attempt, Err: err}
	metrics.CountCreate(int(pc.Count), err)
	if err == nil {
		res.Instances = instancesFromCreate(created, pc, time.Now())
		made := fmt.Sprintf("%d instance(s) in Talis (attempt %d): %s", len(created), pc.Attempt, shared.DescribeIDs(instanceIDs(created)))
		eventType, reason, note := "Normal", "Created", "Created "+made
		if transition != nil {
			eventType, reason, note = transition.Type, transition.Reason, transition.Note+"; created "+made
		}
		r.Recorder.Eventf(regarding, nil, eventType, reason, "Create", "%s", note)
		return res
	}
	transition.Tell(r.Recorder, regarding, "Reconcile")
	if talis.IsAmbiguous(err) {
		r.Recorder.Eventf(regarding, nil, "Warning", infrav1.ReasonCreateOutcomeUnknown, "Create",
			"Create call for %d instance(s) (attempt %d) failed in a way that may have created them; looking them up in Talis before trying again: %v", pc.Count, pc.Attempt, err)
	}
	return res
}

// createFailed handles a create that made nothing (Talis refused it, or it was never sent
// because its deadline passed): the intent is cleared and the problem reported, in the
// reconcile's one write. If it conflicts, the outcome stays held and the next reconcile
// records it again.
func (r *Reconciler) createFailed(conn *talisconn.Connection, p *infrav1.TalisProject,
	s *infrav1.TalisInstanceSet, res creates.Result) outcome {
	key := client.ObjectKeyFromObject(s)
	rejected := talis.IsInvalid(res.Err)
	st := &s.Status
	if st.PendingCreate != nil && st.PendingCreate.Attempt == res.Attempt {
		if rejected {
			st.CreateFailures = rejection(s, st.PendingCreate, res.Err)
		}
		st.PendingCreate = nil
	}
	summarize(s, planSpecFor(s, st.TemplateHash))
	if errors.Is(res.Err, talis.ErrDeadlinePassed) {
		return outcome{statusOnly: true, res: ctrl.Result{RequeueAfter: r.Timing.PollMin}, written: func() {
			r.results.Drop(key, res.Attempt)
			r.Recorder.Eventf(s, nil, "Normal", "CreateNotSent", "Create",
				"Create attempt %d was not sent: it waited past its deadline (%s after it was decided); deciding again",
				res.Attempt, r.Timing.CreateWindow().Send)
		}}
	}
	h := talisProblem(p, conn, "creating instances", res.Err)
	if rejected {
		h = failureHealth(h, s, failureVerdict{hold: true, stalled: true})
	}
	// conclude tells only a change; an attempt that failed like the last one is told here.
	again := shared.ReasonOf(st.Conditions, infrav1.ConditionSynced) == h.Reason
	out := healthOutcome(h, r.retryDelay(key, res.Err))
	out.written = func() {
		r.results.Drop(key, res.Attempt)
		if again {
			r.Recorder.Eventf(s, nil, "Warning", h.Reason, "Create", "%s", h.Message)
		}
	}
	return out
}

// rejection records a create Talis refused outright, so that it is not sent again as it is.
func rejection(s *infrav1.TalisInstanceSet, pc *infrav1.PendingCreate, err error) *infrav1.CreateFailures {
	cf := &infrav1.CreateFailures{TemplateHash: pc.TemplateHash, Rejected: true, LastAttempt: pc.Attempt,
		LastError: shared.Clip(err.Error(), maxFailureMessage), Generation: s.Generation}
	if prev := s.Status.CreateFailures; prev != nil && prev.TemplateHash == pc.TemplateHash {
		cf.Attempts = prev.Attempts
	}
	cf.Attempts++
	return cf
}

// talisProblem is problem, knowing that a not-found on a project's instances means the Talis
// project itself is gone: nothing the operator retries can fix that.
func talisProblem(p *infrav1.TalisProject, conn *talisconn.Connection, action string, err error) shared.Health {
	if talis.IsNotFound(err) {
		return shared.StalledOn(infrav1.ReasonProjectNotFound,
			fmt.Sprintf("Talis has no project %q for owner %d while %s: %v", p.Status.ProjectName, conn.OwnerID, action, err))
	}
	return shared.NameKey(shared.Problem(action, err), p)
}

func InstanceRequest(s *infrav1.TalisInstanceSet, p *infrav1.TalisProject, owner uint, pc *infrav1.PendingCreate) talis.InstanceRequest {
	t := s.Spec.Template
	req := talis.InstanceRequest{
		OwnerID: owner, Provider: string(t.Provider), Region: t.Region, Size: t.Size, Image: t.Image,
		Tags:        creates.Tags(s.Status.Identity, pc.Attempt, pc.TemplateHash, t.Tags),
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

// instancesFromCreate records what a successful create call returned.
func instancesFromCreate(created []*talis.Instance, pc *infrav1.PendingCreate, now time.Time) []infrav1.TalisInstance {
	out := make([]infrav1.TalisInstance, 0, len(created))
	for _, in := range created {
		inst := infrav1.TalisInstance{ID: int64(in.ID), CreateAttempt: pc.Attempt, TemplateHash: pc.TemplateHash,
			CreatedAt: &metav1.Time{Time: now}}
		observeInto(&inst, &observer.Instance{ID: in.ID, ProjectID: in.ProjectID, ProviderInstanceID: in.ProviderInstanceID,
			Name: in.Name, PublicIP: in.PublicIP, Status: in.Status}, now)
		out = append(out, inst)
	}
	return out
}
