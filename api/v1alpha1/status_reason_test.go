package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStatusReasonPicksWhatNeedsAttentionFirst(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: reason}
	}
	readyTrue := cond(ConditionReady, metav1.ConditionTrue, ReasonReady)
	for _, tc := range []struct {
		name  string
		conds []metav1.Condition
		want  string
	}{
		{"no conditions yet", nil, ""},
		{"ready", []metav1.Condition{readyTrue, cond(ConditionSynced, metav1.ConditionTrue, ReasonReconcileSuccess), cond(ConditionStalled, metav1.ConditionFalse, ReasonAsExpected)}, ReasonReady},
		{"converging", []metav1.Condition{cond(ConditionReady, metav1.ConditionFalse, ReasonCreating), cond(ConditionSynced, metav1.ConditionTrue, ReasonReconcileSuccess)}, ReasonCreating},
		{"stalled while the fleet is ready", []metav1.Condition{readyTrue, cond(ConditionSynced, metav1.ConditionFalse, ReasonOutputsNotOwned), cond(ConditionStalled, metav1.ConditionTrue, ReasonOutputsNotOwned)}, ReasonOutputsNotOwned},
		{"unsynced while the fleet is ready", []metav1.Condition{readyTrue, cond(ConditionSynced, metav1.ConditionFalse, ReasonTalisUnavailable)}, ReasonTalisUnavailable},
		{"ready but warned", []metav1.Condition{readyTrue, cond(ConditionSynced, metav1.ConditionTrue, ReasonReconcileSuccess), cond(ConditionDegraded, metav1.ConditionTrue, "EndpointChanged")}, "EndpointChanged"},
		{"stalled beats unsynced", []metav1.Condition{cond(ConditionSynced, metav1.ConditionFalse, ReasonTalisUnavailable), cond(ConditionStalled, metav1.ConditionTrue, ReasonInvalidCredentials)}, ReasonInvalidCredentials},
	} {
		if got := StatusReason(tc.conds); got != tc.want {
			t.Errorf("%s: StatusReason = %q, want %q", tc.name, got, tc.want)
		}
	}
}
