package shared

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// maxEventNote is the longest note events.k8s.io accepts; the API server rejects a longer one
// and the event is lost (Talis error bodies easily exceed it).
const MaxEventNote = 1024

// clippedRecorder keeps every event note within maxEventNote.
type ClippedRecorder struct{ events.EventRecorder }

func (c ClippedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	c.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", Clip(fmt.Sprintf(note, args...), MaxEventNote))
}

// recordTransition emits one event when the summary reason changes (summaryReason), never on a
// poll that changes nothing.
func RecordTransition(rec events.EventRecorder, o runtime.Object, before string, conds []metav1.Condition, h Health) {
	after := SummaryReason(conds)
	if after == before {
		return
	}
	kind := "Normal"
	if h.Warning() {
		kind = "Warning"
	}
	rec.Eventf(o, nil, kind, after, "Reconcile", "%s", h.Message)
}
