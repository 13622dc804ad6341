package instanceset

import (
	"sort"
	"time"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
)

// plan is what one reconcile decides to do; computing it changes nothing.
type plan struct {
	condemn   []int64 // instances to remove, newly decided
	terminate []int64 // instances to send a terminate call for now
	create    int     // instances to create in one call
	timedOut  []int64 // not ready within the provisioning timeout (subset of condemn)
	failed    []int64 // their create task failed in Talis (subset of condemn)
}

// planSpec is the part of a set that decides the plan.
type planSpec struct {
	replicas       int
	templateHash   string
	recreate       bool
	maxSurge       int
	maxUnavailable int
	provisioning   time.Duration
	deleteFirst    map[int64]bool
	deleteIgnored  []string // entries of the delete-instances annotation that name none of the set's instances
	deleting       bool
	holdCreates    bool // replacements back off after failed creates (instanceset_backoff.go)
}

func planSpecFor(s *infrav1.TalisInstanceSet, hash string) planSpec {
	ps := planSpec{replicas: 1, templateHash: hash, maxSurge: 1, provisioning: 15 * time.Minute,
		deleting: !s.DeletionTimestamp.IsZero()}
	ps.deleteFirst, ps.deleteIgnored = shared.DeleteInstances(s.Annotations[infrav1.DeleteInstancesAnnotation], owns(s))
	if s.Spec.Replicas != nil {
		ps.replicas = int(*s.Spec.Replicas)
	}
	if s.Spec.ProvisioningTimeout != nil {
		ps.provisioning = s.Spec.ProvisioningTimeout.Duration
	}
	switch {
	case s.Spec.Strategy.Type == infrav1.RecreateStrategy:
		ps.recreate, ps.maxSurge, ps.maxUnavailable = true, 0, ps.replicas
	case s.Spec.Strategy.RollingUpdate != nil:
		ps.maxSurge = int(s.Spec.Strategy.RollingUpdate.MaxSurge)
		ps.maxUnavailable = int(s.Spec.Strategy.RollingUpdate.MaxUnavailable)
	}
	return ps
}

// owns says whether an ID is one of the set's instances (being terminated or not).
func owns(s *infrav1.TalisInstanceSet) func(int64) bool {
	return func(id int64) bool {
		for _, in := range s.Status.Instances {
			if in.ID == id {
				return true
			}
		}
		return false
	}
}

// computePlan decides scale, rollout, replacement and termination like a Deployment with
// maxSurge/maxUnavailable, for instances that Talis can only create and terminate.
func computePlan(ps planSpec, insts []infrav1.TalisInstance, createPending bool, snapStart time.Time, retry time.Duration) plan {
	var p plan
	var live, cur, old []infrav1.TalisInstance
	condemned := map[int64]bool{}
	for _, in := range insts {
		if in.TerminatingSince != nil {
			continue
		}
		if ps.deleting {
			p.condemn = append(p.condemn, in.ID)
			condemned[in.ID] = true
			continue
		}
		if in.FailedAt != nil { // Talis never retries a failed task
			p.condemn = append(p.condemn, in.ID)
			p.failed = append(p.failed, in.ID)
			condemned[in.ID] = true
			continue
		}
		// Judged by the snapshot, not the clock: an instance is late only if a list that started
		// past its deadline still shows it not ready (a stale snapshot knows nothing of it).
		if !shared.InstanceReady(in) && in.CreatedAt != nil && snapStart.Sub(in.CreatedAt.Time) > ps.provisioning {
			p.condemn = append(p.condemn, in.ID)
			p.timedOut = append(p.timedOut, in.ID)
			condemned[in.ID] = true
			continue
		}
		live = append(live, in)
		if in.TemplateHash == ps.templateHash {
			cur = append(cur, in)
		} else {
			old = append(old, in)
		}
	}

	if !ps.deleting {
		// Scale down among current instances: the ones named in the annotation, then not ready, then newest.
		if excess := len(cur) - ps.replicas; excess > 0 {
			sort.SliceStable(cur, func(i, j int) bool { return removeBefore(cur[i], cur[j], ps.deleteFirst, true) })
			for _, in := range cur[:excess] {
				p.condemn = append(p.condemn, in.ID)
				condemned[in.ID] = true
			}
			cur = cur[excess:]
		}
		// Roll out: outdated instances go when they are not ready, or while enough stay ready.
		ready := 0
		for _, in := range live {
			if !condemned[in.ID] && shared.InstanceReady(in) {
				ready++
			}
		}
		budget := ready - (ps.replicas - ps.maxUnavailable)
		sort.SliceStable(old, func(i, j int) bool { return removeBefore(old[i], old[j], ps.deleteFirst, false) })
		for _, in := range old {
			switch {
			case !shared.InstanceReady(in):
			case budget > 0:
				budget--
			default:
				continue
			}
			p.condemn = append(p.condemn, in.ID)
			condemned[in.ID] = true
		}
		p.create = creations(ps, insts, live, cur, condemned, createPending)
	}

	// Terminate calls wait for the instance's create to finish (its task done, or the instance
	// ready or past its timeout): Talis lets a still-running create overwrite a terminate, which
	// would leak the instance.
	for _, in := range insts {
		if !condemned[in.ID] && in.TerminatingSince == nil || in.TerminatedAt != nil {
			continue
		}
		if !shared.InstanceReady(in) && !createFinished(in) && (in.CreatedAt == nil || snapStart.Sub(in.CreatedAt.Time) <= ps.provisioning) {
			continue
		}
		if last := in.TerminateRequestedAt; last != nil && !snapStart.After(last.Add(retry+creates.TimestampPrecision)) {
			continue
		}
		p.terminate = append(p.terminate, in.ID)
	}
	return p
}

func creations(ps planSpec, insts, live, cur []infrav1.TalisInstance, condemned map[int64]bool, createPending bool) int {
	if createPending || ps.holdCreates {
		return 0
	}
	alive := 0
	for _, in := range live {
		if !condemned[in.ID] {
			alive++
		}
	}
	want := ps.replicas - len(cur)
	// Entries being terminated stay in status until Talis shows them gone; creates wait for them
	// rather than grow status past what one etcd object holds.
	room := min(ps.replicas+ps.maxSurge-alive, infrav1.MaxPlannedInstances-len(insts))
	if ps.recreate {
		for _, in := range insts {
			if in.TemplateHash != ps.templateHash {
				return 0 // Recreate: every outdated instance must be gone first
			}
		}
	}
	return max(0, min(want, room))
}

// removeBefore orders instances to remove: named for deletion, then not ready, then by age:
// newest first on scale-down (the least proven), oldest first in a rollout (the most outdated).
func removeBefore(a, b infrav1.TalisInstance, named map[int64]bool, newestFirst bool) bool {
	if named[a.ID] != named[b.ID] {
		return named[a.ID]
	}
	if shared.InstanceReady(a) != shared.InstanceReady(b) {
		return !shared.InstanceReady(a)
	}
	return (a.ID > b.ID) == newestFirst
}
