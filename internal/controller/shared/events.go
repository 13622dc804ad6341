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

// RecordTransition emits one event when what a user reads changes (SummaryReason), never on a
// poll that changes nothing: the new STATUS reason with the health's message, or, when only
// Ready's reason changed under it, Ready's reason and message.
func RecordTransition(rec events.EventRecorder, o runtime.Object, before string, conds []metav1.Condition, h Health) {
	after := SummaryReason(conds)
	if after == before {
		return
	}
	kind := func(warning bool) string {
		if warning {
			return "Warning"
		}
		return "Normal"
	}
	beforeStatus, _, _ := strings.Cut(before, "/")
	if status := infrav1.StatusReason(conds); status != beforeStatus {
		rec.Eventf(o, nil, kind(h.Warning()), status, "Reconcile", "%s", h.Message)
		return
	}
	ready := FindCondition(conds, infrav1.ConditionReady)
	rec.Eventf(o, nil, kind(h.Warning() && h.Reason == ready.Reason), ready.Reason, "Reconcile", "%s", ready.Message)
}
