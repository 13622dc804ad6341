package instanceset

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

func pacingStatus() *infrav1.TalisInstanceSetStatus {
	st := &infrav1.TalisInstanceSetStatus{ObservedGeneration: 1, TemplateHash: "h"}
	shared.SetCondition(&st.Conditions, 1, infrav1.ConditionReady, false, infrav1.ReasonCreating, "creating")
	shared.SetCondition(&st.Conditions, 1, infrav1.ConditionProgressing, true, infrav1.ReasonCreating, "creating")
	return st
}

func TestOutlineChangedTellsHealthFromDetail(t *testing.T) {
	now := metav1.Now()
	detail := map[string]func(*infrav1.TalisInstanceSetStatus){
		"created instances recorded": func(st *infrav1.TalisInstanceSetStatus) {
			st.Instances = append(st.Instances, infrav1.TalisInstance{ID: 7, State: "pending"}, infrav1.TalisInstance{ID: 8, State: "pending"})
			st.Replicas, st.UpdatedReplicas = 2, 2
			st.PendingCreate = nil
		},
		"reason and message": func(st *infrav1.TalisInstanceSetStatus) {
			shared.SetCondition(&st.Conditions, 1, infrav1.ConditionProgressing, true, infrav1.ReasonProvisioning, "waiting")
		},
		"public IP": func(st *infrav1.TalisInstanceSetStatus) { st.PublicIPs = []string{"203.0.113.9"} },
	}
	outline := map[string]func(*infrav1.TalisInstanceSetStatus){
		"ready count":         func(st *infrav1.TalisInstanceSetStatus) { st.ReadyReplicas = 1 },
		"observed generation": func(st *infrav1.TalisInstanceSetStatus) { st.ObservedGeneration = 2 },
		"template":            func(st *infrav1.TalisInstanceSetStatus) { st.TemplateHash = "g" },
		"condition status": func(st *infrav1.TalisInstanceSetStatus) {
			shared.SetCondition(&st.Conditions, 1, infrav1.ConditionReady, true, infrav1.ReasonReady, "")
		},
		"new condition": func(st *infrav1.TalisInstanceSetStatus) {
			shared.SetCondition(&st.Conditions, 1, infrav1.ConditionDegraded, true, infrav1.ReasonInstanceTerminated, "gone")
		},
		"instance condemned": func(st *infrav1.TalisInstanceSetStatus) {
			st.Instances = []infrav1.TalisInstance{{ID: 7, TerminatingSince: &now}}
		},
	}
	for name, mutate := range detail {
		a, b := pacingStatus(), pacingStatus()
		mutate(b)
		if outlineChanged(a, b) {
			t.Errorf("%s: counted as an outline change", name)
		}
	}
	for name, mutate := range outline {
		a, b := pacingStatus(), pacingStatus()
		mutate(b)
		if !outlineChanged(a, b) {
			t.Errorf("%s: counted as detail", name)
		}
	}
}
