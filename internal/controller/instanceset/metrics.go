package instanceset

import (
	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/metrics"
)

var instanceStates = []string{"pending", "created", "provisioning", "ready", "terminating"}

func notReadyIDs(st *infrav1.TalisInstanceSetStatus) map[int64]bool {
	out := map[int64]bool{}
	for _, in := range st.Instances {
		if in.ReadyAt == nil {
			out[in.ID] = true
		}
	}
	return out
}

// recordInstanceMetrics updates the per-state gauge and observes create-to-ready for instances
// that became ready in this reconcile.
func recordInstanceMetrics(s *infrav1.TalisInstanceSet, wereNotReady map[int64]bool) {
	counts := map[string]float64{}
	for _, in := range s.Status.Instances {
		state := in.State
		if in.TerminatingSince != nil {
			state = "terminating"
		}
		counts[state]++
		if wereNotReady[in.ID] && in.ReadyAt != nil && in.CreatedAt != nil {
			metrics.CreateToReady.Observe(in.ReadyAt.Sub(in.CreatedAt.Time).Seconds())
		}
	}
	// Only states that have instances get a series: a steady set has one, not five, which
	// matters at thousands of sets.
	for _, st := range instanceStates {
		if counts[st] > 0 {
			metrics.Instances.WithLabelValues(s.Namespace, s.Name, st).Set(counts[st])
		} else {
			metrics.Instances.DeleteLabelValues(s.Namespace, s.Name, st)
		}
	}
}

func forgetInstanceMetrics(s *infrav1.TalisInstanceSet) {
	metrics.Instances.DeletePartialMatch(map[string]string{"namespace": s.Namespace, "set": s.Name})
}
