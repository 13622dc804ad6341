package shared

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// maxEventNote is the longest note events.k8s.io accepts; the API server rejects a longer one
// and the event is lost (Talis error bodies easily exceed it).
const MaxEventNote = 1024

// clippedRecorder keeps every event note within maxEventNote.
type ClippedRecorder struct{ events.EventRecorder }

func (c ClippedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	c.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", Clip(fmt.Sprintf(note, args...), MaxEventNote))
}

// Transition is the event that tells a change of what a user reads.
type Transition struct{ Type, Reason, Note string }

// TransitionOf says which event tells the change from before (a SummaryReason) to conds, or nil
// on a poll that changes nothing a user reads: the new STATUS reason with the health's message,
// or, when only Ready's reason changed under it, Ready's reason and message.
func TransitionOf(before string, conds []metav1.Condition, h Health) *Transition {
	after := SummaryReason(conds)
	if after == before {
		return nil
	}
	kind := func(warning bool) string {
		if warning {
			return "Warning"
		}
		return "Normal"
	}
	beforeStatus, _, _ := strings.Cut(before, "/")
	if status := infrav1.StatusReason(conds); status != beforeStatus {
		return &Transition{Type: kind(h.Warning()), Reason: status, Note: h.Message}
	}
	ready := FindCondition(conds, infrav1.ConditionReady)
	return &Transition{Type: kind(h.Warning() && h.Reason == ready.Reason), Reason: ready.Reason, Note: ready.Message}
}

// Tell records t, if there is one, about o.
func (t *Transition) Tell(rec events.EventRecorder, o runtime.Object, action string) {
	if t != nil {
		rec.Eventf(o, nil, t.Type, t.Reason, action, "%s", t.Note)
	}
}

// RecordTransition emits one event when what a user reads changes (see TransitionOf).
func RecordTransition(rec events.EventRecorder, o runtime.Object, before string, conds []metav1.Condition, h Health) {
	TransitionOf(before, conds, h).Tell(rec, o, "Reconcile")
}
