package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusReason is what status.reason (kubectl get's STATUS column) shows: the reason of the
// condition that needs attention first. A stalled or unsynced object must never read as fine
// because its fleet happens to be Ready.
func StatusReason(conds []metav1.Condition) string {
	for _, pick := range []struct {
		typ    string
		status metav1.ConditionStatus
	}{
		{ConditionStalled, metav1.ConditionTrue},
		{ConditionSynced, metav1.ConditionFalse},
		{ConditionDegraded, metav1.ConditionTrue},
		{ConditionReady, ""},
	} {
		for _, c := range conds {
			if c.Type == pick.typ && (pick.status == "" || c.Status == pick.status) {
				return c.Reason
			}
		}
	}
	return ""
}
