package instanceset

import (
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// syncResult is what merging a Talis snapshot into a set's status found.
type syncResult struct {
	// createPending is true while an earlier create call's outcome is still unknown.
	createPending bool
	adopted       []int64
	late          []int64                // instances of an attempt already resolved (creates.Late)
	confirmed     *infrav1.PendingCreate // the pending create turned out to have created instances
	notApplied    *infrav1.PendingCreate // the pending create turned out to have created nothing
	vanished      []infrav1.TalisInstance
	// undone are instances a terminate had been sent for that are live again: a create that was
	// still running wrote its state over the terminate.
	undone []int64
	// watch is the rule that ends the watch of instances terminated before their create finished.
	watch watchRule
	// tasks is what the last look-ups found of the watched instances' create tasks (tasks read).
	tasks map[int64]taskView
}

// syncWithSnapshot folds the live instances Talis reports for the set (tagged with its identity)
// into status. It never forgets an instance unless a snapshot that started after the instance was
// recorded no longer has it, and after a terminate, only once the instance's create can no longer
// bring it back: a stale snapshot can delay what the operator learns, never make it create again
// or lose track of an instance.
func syncWithSnapshot(st *infrav1.TalisInstanceSetStatus, identity string, live []*observer.Instance,
	snapStart time.Time, w creates.Window, wr watchRule) syncResult {
	res := syncResult{watch: wr}
	mine := map[int64]*observer.Instance{}
	owners := map[int64]creates.Ownership{}
	attempts := map[int64]bool{}
	for _, in := range live {
		if o, ok := creates.ParseOwnership(in.Tags); ok && o.Identity == identity {
			mine[int64(in.ID)] = in
			owners[int64(in.ID)] = o
			attempts[o.Attempt] = true
		}
	}

	lastAttempt := st.LastCreateAttempt
	if pc := st.PendingCreate; pc != nil {
		switch creates.Judge(pc, attempts[pc.Attempt], snapStart, w) {
		case creates.Applied:
			res.confirmed = pc
			st.PendingCreate = nil
		case creates.NotApplied:
			res.notApplied = pc
			st.PendingCreate = nil
		default:
			res.createPending = true
		}
	}

	kept := st.Instances[:0]
	known := map[int64]bool{}
	for _, inst := range st.Instances {
		in, ok := mine[inst.ID]
		if !ok {
			if keep := missing(&inst, snapStart, wr, &res); !keep {
				continue
			}
			kept = append(kept, inst)
			known[inst.ID] = true
			continue
		}
		if inst.TerminatedAt != nil {
			// Back from terminated: send the terminate again as soon as the create is done. A
			// create seen done, or a worker judged gone, was not: its task is read again (a
			// failed task writes nothing more, and its failure stays recorded).
			inst.TerminatedAt, inst.TerminateRequestedAt = nil, nil
			if inst.CreateTask != string(talis.TaskStatusFailed) {
				inst.CreateTask, inst.CreateTaskSeenAt = "", nil
			}
			res.undone = append(res.undone, inst.ID)
		}
		observeInto(&inst, in, snapStart)
		kept = append(kept, inst)
		known[inst.ID] = true
	}
	st.Instances = kept

	var confirmed int64
	if res.confirmed != nil {
		confirmed = res.confirmed.Attempt
	}
	for id, in := range mine {
		if known[id] {
			continue
		}
		o := owners[id]
		inst := infrav1.TalisInstance{ID: id, CreateAttempt: o.Attempt, TemplateHash: o.TemplateHash,
			CreatedAt: &metav1.Time{Time: snapStart}}
		observeInto(&inst, in, snapStart)
		st.Instances = append(st.Instances, inst)
		switch creates.Classify(o.Attempt, lastAttempt, confirmed) {
		case creates.Adopted:
			res.adopted = append(res.adopted, id)
		case creates.Late:
			res.late = append(res.late, id)
		}
		// Attempt numbers continue after the highest one seen, so that a pending attempt can
		// never be confirmed by an instance an earlier set of the same name made.
		st.LastCreateAttempt = max(st.LastCreateAttempt, o.Attempt)
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].ID < st.Instances[j].ID })
	slices.Sort(res.adopted)
	slices.Sort(res.late)
	slices.Sort(res.undone)
	return res
}

// watchRule says when the watch of an instance terminated before its create finished ends:
// never while the create could still bring it back.
type watchRule struct {
	// tasksRead: Talis shows the create tasks and they are looked up (readTasks). The watch ends
	// only once a look-up made after the instance was seen terminated found that its create
	// task can no longer write it (createEnded), and a list that started after that look-up
	// still shows it terminated. There is no timer: while the task runs under a live worker's
	// lock, or cannot be read, the watch goes on and the condition says why.
	tasksRead bool
	// Otherwise Talis hides the tasks from the owner (or look-ups are off), and the watch ends
	// once a list that started after the create could have finished still shows the instance
	// terminated (hiddenEnd): hidden after the instance was first seen, and settle after it was
	// seen terminated.
	settle time.Duration
	hidden time.Duration
	// hiddenWhy says why the create tasks are not read, for the condition.
	hiddenWhy string
}

// hiddenWatch is how long after an instance was first seen a create Talis does not show may
// still be running: the set's provisioning timeout (how long the user says a create takes) plus
// the create window (the margin allowed for Talis to process a create call) and the clock skew.
func hiddenWatch(provisioning time.Duration, w creates.Window) time.Duration {
	return provisioning + w.Land + w.Skew
}

// hiddenEnd is when a create Talis does not show could have finished: hidden after the instance
// was first seen, and at least settle (--terminate-settle, by default the five minutes Talis's
// worker holds a task before giving it to another) after it was seen terminated.
func (wr watchRule) hiddenEnd(inst *infrav1.TalisInstance) time.Time {
	end := inst.TerminatedAt.Add(wr.settle)
	if inst.CreatedAt != nil && inst.CreatedAt.Add(wr.hidden).After(end) {
		end = inst.CreatedAt.Add(wr.hidden)
	}
	return end
}

// watchEnds is the time a list must start after, still showing the watched instance terminated,
// for the watch to end; zero while it cannot end yet.
func (wr watchRule) watchEnds(inst *infrav1.TalisInstance) time.Time {
	switch {
	case inst.TerminatedAt == nil:
		return time.Time{}
	case createEnded(*inst):
		if inst.CreateTaskSeenAt != nil {
			return inst.CreateTaskSeenAt.Time
		}
		return inst.TerminatedAt.Time // recorded before createTaskSeenAt existed
	case wr.tasksRead:
		return time.Time{}
	}
	return wr.hiddenEnd(inst)
}

// createDoneBefore is true once the snapshot started after the instance's create task was seen
// finished: what that create wrote is in the snapshot, and it writes nothing more.
func createDoneBefore(inst *infrav1.TalisInstance, snapStart time.Time) bool {
	if !createFinished(*inst) {
		return false
	}
	// Recorded before CreateTaskSeenAt existed: trusted as before.
	return inst.CreateTaskSeenAt == nil || snapStart.After(inst.CreateTaskSeenAt.Add(creates.TimestampPrecision))
}

// missing handles an instance status knows that the snapshot does not list (Talis keeps rows,
// so it is terminated, or too new for the snapshot); it reports whether to keep the entry.
func missing(inst *infrav1.TalisInstance, snapStart time.Time, wr watchRule, res *syncResult) bool {
	if recorded := inst.CreatedAt; recorded != nil && !snapStart.After(recorded.Add(creates.TimestampPrecision)) {
		return true // the snapshot may predate the instance
	}
	if inst.TerminatingSince == nil {
		res.vanished = append(res.vanished, *inst)
		return false
	}
	inst.State = string(talis.InstanceStatusTerminated)
	if inst.TerminatedAt == nil {
		// A create that finished (the instance was seen ready, or its task done) before this
		// list can no longer write over the terminate. Otherwise watch for it to come back.
		if inst.ReadyAt != nil || createDoneBefore(inst, snapStart) {
			return false
		}
		inst.TerminatedAt = &metav1.Time{Time: snapStart}
		return true
	}
	// Seen terminated while its create may still run: the watch ends when the create can no
	// longer bring the instance back (watchRule); a deleting set keeps its finalizer meanwhile.
	end := wr.watchEnds(inst)
	return end.IsZero() || !snapStart.After(end.Add(creates.TimestampPrecision))
}

func observeInto(inst *infrav1.TalisInstance, in *observer.Instance, seen time.Time) {
	// Clipped to the CRD's bounds: a longer value from Talis would fail every status write.
	inst.Name = shared.Clip(in.Name, 64)
	inst.State = shared.Clip(string(in.Status), 16)
	inst.PublicIP = shared.Clip(in.PublicIP, 45)
	inst.ProviderInstanceID = int64(in.ProviderInstanceID)
	if in.Status == talis.InstanceStatusReady && inst.ReadyAt == nil {
		inst.ReadyAt = &metav1.Time{Time: seen}
	}
}
