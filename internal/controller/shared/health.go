package shared

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// The condition model (docs/conditions.md), one for both kinds:
//
//   - Ready: the fleet (the project) is what the spec asks, as last observed. Trouble reaching
//     Talis leaves it as it was; it is only re-judged by an observation of this generation.
//   - Synced: the last attempt to reconcile with Talis worked; False names why not.
//   - Progressing: the operator is converging by itself, including retrying passing trouble.
//   - Degraded: the fleet is short of what it was (instances lost or failed) while it is
//     repaired, or a problem needs a person.
//   - Reconciling and Stalled are kstatus's: Reconciling mirrors Progressing, Stalled is True
//     only for what needs a person. The two are never True together.

// health is the one summary a reconcile computes; apply fans it out into every condition.
// Build it with the constructors below, never as a literal: they keep the combinations sound.
type Health struct {
	observed    bool // the fleet was observed: Ready is judged from ready
	Ready       bool
	unsynced    bool // the last attempt to reconcile with Talis failed or could not be made
	Progressing bool
	Degraded    bool
	Stalled     bool
	paused      bool
	waiting     bool // on another object: expected for a while, so events are Normal
	Reason      string
	Message     string
	// fleet, when set, judges Ready instead: the outputs ConfigMap says nothing about whether
	// the fleet is as asked (withOutputs).
	fleet *Health
}

// fleetReady: everything is as the spec asks.
func FleetReady(message string) Health {
	return Health{observed: true, Ready: true, Reason: infrav1.ReasonReady, Message: message}
}

// converging: not there yet, getting there without help.
func Converging(reason, message string) Health {
	return Health{observed: true, Progressing: true, Reason: reason, Message: message}
}

// repairing: something was lost or failed and is being replaced.
func Repairing(reason, message string) Health {
	return Health{observed: true, Progressing: true, Degraded: true, Reason: reason, Message: message}
}

// readyButWarned: working as asked, but something a person should know about changed under it.
func ReadyButWarned(reason, message string) Health {
	return Health{observed: true, Ready: true, Degraded: true, Reason: reason, Message: message}
}

// retrying: reconciling with Talis failed in a way that passes by itself; the operator tries again.
func Retrying(reason, message string) Health {
	return Health{unsynced: true, Progressing: true, Reason: reason, Message: message}
}

// waitingOn: another object this one needs is not there yet; nothing is wrong so far.
func WaitingOn(reason, message string) Health {
	return Health{unsynced: true, Progressing: true, waiting: true, Reason: reason, Message: message}
}

// stalledOn: nothing the operator retries can fix this; a person has to.
func StalledOn(reason, message string) Health {
	return Health{unsynced: true, Stalled: true, Reason: reason, Message: message}
}

// pausedHealth: the paused annotation stops every Talis call.
func PausedHealth(message string) Health {
	return Health{unsynced: true, paused: true, Reason: infrav1.ReasonPaused, Message: message}
}

// withOutputs folds a problem publishing the set's outputs (nil: none) into the fleet's health.
// A ConfigMap the set may not write needs a person, so it stalls the set, unless the fleet's own
// trouble already does or it is paused. A failed write is retried: it shows only while the fleet
// has no trouble of its own, which says more. Ready stays the fleet's.
func (h Health) WithOutputs(p *OutputsProblem) Health {
	if p == nil || h.Stalled || h.paused {
		return h
	}
	var o Health
	switch {
	case p.Reason == infrav1.ReasonOutputsNotOwned:
		o = StalledOn(p.Reason, p.Message)
	case h.unsynced || h.Degraded:
		return h
	default:
		o = Retrying(p.Reason, p.Message)
	}
	fleet := h
	o.fleet = &fleet
	return o
}

// warning says whether events about this state are Warnings.
func (h Health) Warning() bool {
	return h.Stalled || h.Degraded || (h.unsynced && !h.paused && !h.waiting)
}

// SummaryReason is what a user reads change, for events: kubectl get's STATUS (status.reason)
// and Ready's reason.
func SummaryReason(conds []metav1.Condition) string {
	return infrav1.StatusReason(conds) + "/" + ReasonOf(conds, infrav1.ConditionReady)
}

func (h Health) Apply(conds *[]metav1.Condition, gen int64) {
	if h.fleet != nil {
		h.fleet.applyReady(conds, gen)
	} else {
		h.applyReady(conds, gen)
	}
	if h.unsynced {
		SetCondition(conds, gen, infrav1.ConditionSynced, false, h.Reason, h.Message)
	} else {
		SetCondition(conds, gen, infrav1.ConditionSynced, true, infrav1.ReasonReconcileSuccess, "")
	}
	quiet := infrav1.ReasonAsExpected
	if h.paused {
		quiet = infrav1.ReasonPaused
	}
	set := func(typ string, on bool) {
		if on {
			SetCondition(conds, gen, typ, true, h.Reason, h.Message)
		} else {
			SetCondition(conds, gen, typ, false, quiet, "")
		}
	}
	set(infrav1.ConditionProgressing, h.Progressing && !h.Stalled)
	set(infrav1.ConditionReconciling, h.Progressing && !h.Stalled)
	set(infrav1.ConditionDegraded, h.Degraded || h.Stalled)
	set(infrav1.ConditionStalled, h.Stalled)
}

// applyReady judges Ready from an observation. Without one, a Ready=True this generation
// observed stays; a Ready about an older spec says nothing about this one, so it turns False.
func (h Health) applyReady(conds *[]metav1.Condition, gen int64) {
	if h.paused {
		c := FindCondition(*conds, infrav1.ConditionReady)
		SetCondition(conds, gen, infrav1.ConditionReady, c != nil && c.Status == metav1.ConditionTrue, h.Reason, h.Message)
		return
	}
	if h.observed {
		SetCondition(conds, gen, infrav1.ConditionReady, h.Ready, h.Reason, h.Message)
		return
	}
	// Only a True is worth keeping: a False takes the newest reason, so it says what is wrong now.
	if c := FindCondition(*conds, infrav1.ConditionReady); c != nil && c.ObservedGeneration == gen && c.Status == metav1.ConditionTrue {
		return
	}
	SetCondition(conds, gen, infrav1.ConditionReady, false, h.Reason, h.Message)
}

// setCondition sets one condition; meta.SetStatusCondition keeps lastTransitionTime unless the
// status flips, so routine polls that change nothing never make conditions flap.
func SetCondition(conds *[]metav1.Condition, gen int64, typ string, status bool, reason, message string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: Clip(message, infrav1.MaxConditionMessage), ObservedGeneration: gen,
	})
}
