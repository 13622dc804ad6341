package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// maxEventNote is the longest note events.k8s.io accepts; the API server rejects a longer one
// and the event is lost (Talis error bodies easily exceed it).
const maxEventNote = 1024

// clippedRecorder keeps every event note within maxEventNote.
type clippedRecorder struct{ events.EventRecorder }

func (c clippedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	c.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", clip(fmt.Sprintf(note, args...), maxEventNote))
}
