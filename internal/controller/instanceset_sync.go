package controller

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// metav1.Time keeps whole seconds; comparisons against a snapshot's precise start time add this
// margin so that a truncated timestamp never makes a fresh instance look older than it is.
const timestampPrecision = time.Second

// syncResult is what merging a Talis snapshot into a set's status found.
type syncResult struct {
	// createPending is true while an earlier create call's outcome is still unknown.
	createPending bool
	adopted       []int64
	confirmed     *infrav1.PendingCreate // the pending create turned out to have created instances
	notApplied    *infrav1.PendingCreate // the pending create turned out to have created nothing
	vanished      []infrav1.TalisInstance
}

// syncWithSnapshot folds the live instances Talis reports for the set (tagged with its identity)
// into status. It never forgets an instance unless a snapshot that started after the instance was
// recorded no longer has it: a stale snapshot can delay what the operator learns, never make it
// create again.
func syncWithSnapshot(st *infrav1.TalisInstanceSetStatus, identity string, live []*talis.Instance,
	snapStart time.Time, ambiguity time.Duration) syncResult {
	var res syncResult
	mine := map[int64]*talis.Instance{}
	for _, in := range live {
		if o, ok := parseOwnership(in.Tags); ok && o.identity == identity {
			mine[int64(in.ID)] = in
		}
	}

	if pc := st.PendingCreate; pc != nil {
		found := false
		for _, in := range mine {
			if o, _ := parseOwnership(in.Tags); o.attempt == pc.Attempt {
				found = true
				break
			}
		}
		switch {
		case found:
			res.confirmed = pc
			st.PendingCreate = nil
		case snapStart.After(pc.RequestedAt.Add(ambiguity + timestampPrecision)):
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
			recorded := inst.CreatedAt
			if recorded == nil || snapStart.After(recorded.Add(timestampPrecision)) {
				if inst.TerminatingSince == nil {
					res.vanished = append(res.vanished, inst)
				}
				continue
			}
			kept = append(kept, inst)
			known[inst.ID] = true
			continue
		}
		observeInto(&inst, in, snapStart)
		kept = append(kept, inst)
		known[inst.ID] = true
	}
	st.Instances = kept

	for id, in := range mine {
		if known[id] {
			continue
		}
		o, _ := parseOwnership(in.Tags)
		inst := infrav1.TalisInstance{ID: id, CreateAttempt: o.attempt, TemplateHash: o.templateHash,
			CreatedAt: &metav1.Time{Time: snapStart}}
		observeInto(&inst, in, snapStart)
		st.Instances = append(st.Instances, inst)
		if res.confirmed == nil || o.attempt != res.confirmed.Attempt {
			res.adopted = append(res.adopted, id)
		}
	}
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].ID < st.Instances[j].ID })
	sort.Slice(res.adopted, func(i, j int) bool { return res.adopted[i] < res.adopted[j] })
	return res
}

func observeInto(inst *infrav1.TalisInstance, in *talis.Instance, seen time.Time) {
	// Clipped to the CRD's bounds: a longer value from Talis would fail every status write.
	inst.Name = clip(in.Name, 64)
	inst.State = clip(string(in.Status), 16)
	inst.PublicIP = clip(in.PublicIP, 45)
	inst.ProviderInstanceID = int64(in.ProviderInstanceID)
	if in.Status == talis.InstanceStatusReady && inst.ReadyAt == nil {
		inst.ReadyAt = &metav1.Time{Time: seen}
	}
}

// instancesFromCreate records what a successful create call returned.
func instancesFromCreate(created []*talis.Instance, pc *infrav1.PendingCreate, now time.Time) []infrav1.TalisInstance {
	out := make([]infrav1.TalisInstance, 0, len(created))
	for _, in := range created {
		inst := infrav1.TalisInstance{ID: int64(in.ID), CreateAttempt: pc.Attempt, TemplateHash: pc.TemplateHash,
			CreatedAt: &metav1.Time{Time: now}}
		observeInto(&inst, in, now)
		out = append(out, inst)
	}
	return out
}

// describeIDs lists IDs for an event or condition message: events.k8s.io refuses notes over
// 1 KB, so past maxListedIDs only a count is given.
func describeIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == maxListedIDs {
			fmt.Fprintf(&b, ",… and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// maxListedIDs keeps a list under 250 bytes even with 20-digit IDs.
const maxListedIDs = 10
