package instanceset

import (
	"slices"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// Status writes that only add detail are spaced out (memory.detailWait). Every status write costs the API
// server a decode, validation, managedFields and a watch event per watcher; while a fleet
// converges most polls only refine instance details (the IDs a create returned, an instance
// going from pending to created), which can wait for the next write that matters.
// outlineChanged reports a change someone may act on: health (any condition's status), the
// generation observed, how many instances are ready, which instances are being terminated, or
// which watched ones were seen unable to come back (that ends their watch, and may let a
// deletion finish).
// New instance entries (and so the replica counts before they are ready), states short of
// ready, IPs, messages and reasons are detail.
func outlineChanged(a, b *infrav1.TalisInstanceSetStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.ReadyReplicas != b.ReadyReplicas || a.TemplateHash != b.TemplateHash {
		return true
	}
	if len(a.Conditions) != len(b.Conditions) {
		return true
	}
	for _, c := range a.Conditions {
		if o := shared.FindCondition(b.Conditions, c.Type); o == nil || o.Status != c.Status || o.ObservedGeneration != c.ObservedGeneration {
			return true
		}
	}
	return !slices.Equal(condemned(a), condemned(b)) || !slices.Equal(watchEnding(a), watchEnding(b))
}

// watchEnding are the watched instances whose create was seen unable to bring them back.
func watchEnding(st *infrav1.TalisInstanceSetStatus) []int64 {
	var ids []int64
	for _, in := range st.Instances {
		if in.TerminatedAt != nil && createEnded(in) {
			ids = append(ids, in.ID)
		}
	}
	return ids
}

func condemned(st *infrav1.TalisInstanceSetStatus) []int64 {
	var ids []int64
	for _, in := range st.Instances {
		if in.TerminatingSince != nil || in.TerminateRequestedAt != nil {
			ids = append(ids, in.ID)
		}
	}
	return ids
}
