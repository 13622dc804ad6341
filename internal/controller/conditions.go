package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// setCondition sets one condition; meta.SetStatusCondition keeps lastTransitionTime unless the
// status flips, so routine polls that change nothing never make conditions flap.
func setCondition(conds *[]metav1.Condition, gen int64, typ string, status bool, reason, message string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: clip(message, infrav1.MaxConditionMessage), ObservedGeneration: gen,
	})
}

// health is the one summary a reconcile computes; it fans out into every condition type,
// including the kstatus pair (Reconciling/Stalled) that Flux and kubectl understand.
type health struct {
	ready       bool
	progressing bool // converging by itself
	degraded    bool // something is wrong that the operator is working around
	stalled     bool // cannot go on without a person
	reason      string
	message     string
}

func (h health) apply(conds *[]metav1.Condition, gen int64) {
	readyReason := h.reason
	if h.ready {
		readyReason = infrav1.ReasonReady
	}
	setCondition(conds, gen, infrav1.ConditionReady, h.ready, readyReason, h.message)

	progReason, degReason := infrav1.ReasonAsExpected, infrav1.ReasonAsExpected
	progMsg, degMsg := "", ""
	if h.progressing {
		progReason, progMsg = h.reason, h.message
	}
	if h.degraded || h.stalled {
		degReason, degMsg = h.reason, h.message
	}
	setCondition(conds, gen, infrav1.ConditionProgressing, h.progressing, progReason, progMsg)
	setCondition(conds, gen, infrav1.ConditionDegraded, h.degraded || h.stalled, degReason, degMsg)
	// kstatus reads Reconciling before Stalled; a degraded object must read Failed, not InProgress.
	setCondition(conds, gen, infrav1.ConditionReconciling, h.progressing && !h.degraded && !h.stalled, progReason, progMsg)
	setCondition(conds, gen, infrav1.ConditionStalled, h.degraded || h.stalled, degReason, degMsg)
}
