package shared

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

const PausedMessage = "paused by the " + infrav1.PausedAnnotation + " annotation: no Talis calls are made until it is removed or set to \"false\""

// Paused is what marking a paused object found and changed.
type Paused struct {
	// Changed: the conditions changed, so status must be written and the news told.
	Changed bool
	Message string
	// Misread says what of the annotation's value was not understood, if anything.
	Misread string
}

// MarkPaused applies the paused health. Nothing is stamped with a generation the operator has
// not acted on (observed, status.observedGeneration): a spec changed during the pause must keep
// kubectl wait and Flux waiting, so the message names the waiting generation instead. Ready keeps
// its status (a paused fleet is as ready as it was last observed) and takes the reason Paused.
func MarkPaused(o metav1.Object, conds *[]metav1.Condition, observed int64) Paused {
	_, misread := Pause(o)
	msg := PausedMessage
	if misread != "" {
		msg = misread + "; " + msg
	}
	if gen := o.GetGeneration(); gen != observed {
		msg += fmt.Sprintf("; the spec of generation %d is not acted on until then", gen)
	}
	if o.GetDeletionTimestamp() != nil {
		msg += "; the deletion waits for the pause too, and nothing in Talis is removed until it is lifted"
	}
	before := append([]metav1.Condition(nil), *conds...)
	PausedHealth(msg).Apply(conds, observed)
	return Paused{Changed: !equality.Semantic.DeepEqual(before, *conds), Message: msg, Misread: misread}
}

// TellPaused says what changed when an object was marked paused: a Warning about a value that
// was not understood, a Warning when a deletion waits, else a Normal event.
func TellPaused(rec events.EventRecorder, o runtime.Object, p Paused) {
	if !p.Changed {
		return
	}
	if p.Misread != "" {
		rec.Eventf(o, nil, "Warning", ReasonInvalidAnnotation, "Pause", "%s", p.Misread)
	}
	kind := "Normal"
	if m, ok := o.(metav1.Object); ok && m.GetDeletionTimestamp() != nil {
		kind = "Warning"
	}
	rec.Eventf(o, nil, kind, infrav1.ReasonPaused, "Pause", "%s", p.Message)
}
