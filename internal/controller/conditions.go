package controller

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
type health struct {
	observed    bool // the fleet was observed: Ready is judged from ready
	ready       bool
	unsynced    bool // the last attempt to reconcile with Talis failed or could not be made
	progressing bool
	degraded    bool
	stalled     bool
	paused      bool
	waiting     bool // on another object: expected for a while, so events are Normal
	reason      string
	message     string
	// fleet, when set, judges Ready instead: the outputs ConfigMap says nothing about whether
	// the fleet is as asked (withOutputs).
	fleet *health
}

// fleetReady: everything is as the spec asks.
func fleetReady(message string) health {
	return health{observed: true, ready: true, reason: infrav1.ReasonReady, message: message}
}

// converging: not there yet, getting there without help.
func converging(reason, message string) health {
	return health{observed: true, progressing: true, reason: reason, message: message}
}

// repairing: something was lost or failed and is being replaced.
func repairing(reason, message string) health {
	return health{observed: true, progressing: true, degraded: true, reason: reason, message: message}
}

// readyButWarned: working as asked, but something a person should know about changed under it.
func readyButWarned(reason, message string) health {
	return health{observed: true, ready: true, degraded: true, reason: reason, message: message}
}

// retrying: reconciling with Talis failed in a way that passes by itself; the operator tries again.
func retrying(reason, message string) health {
	return health{unsynced: true, progressing: true, reason: reason, message: message}
}

// waitingOn: another object this one needs is not there yet; nothing is wrong so far.
func waitingOn(reason, message string) health {
	return health{unsynced: true, progressing: true, waiting: true, reason: reason, message: message}
}

// stalledOn: nothing the operator retries can fix this; a person has to.
func stalledOn(reason, message string) health {
	return health{unsynced: true, stalled: true, reason: reason, message: message}
}

// pausedHealth: the paused annotation stops every Talis call.
func pausedHealth() health {
	return health{unsynced: true, paused: true, reason: infrav1.ReasonPaused, message: pausedMessage}
}

// withOutputs folds a problem publishing the set's outputs (nil: none) into the fleet's health.
// A ConfigMap the set may not write needs a person, so it stalls the set, unless the fleet's own
// trouble already does or it is paused. A failed write is retried: it shows only while the fleet
// has no trouble of its own, which says more. Ready stays the fleet's.
func (h health) withOutputs(p *outputsProblem) health {
	if p == nil || h.stalled || h.paused {
		return h
	}
	var o health
	switch {
	case p.reason == infrav1.ReasonOutputsNotOwned:
		o = stalledOn(p.reason, p.message)
	case h.unsynced || h.degraded:
		return h
	default:
		o = retrying(p.reason, p.message)
	}
	fleet := h
	o.fleet = &fleet
	return o
}

// warning says whether events about this state are Warnings.
func (h health) warning() bool {
	return h.stalled || h.degraded || (h.unsynced && !h.paused && !h.waiting)
}

// summaryReason is what changed, for events: the sync failure if there is one, else Ready's.
func summaryReason(conds []metav1.Condition) string {
	if c := findCondition(conds, infrav1.ConditionSynced); c != nil && c.Status == metav1.ConditionFalse {
		return c.Reason
	}
	return reasonOf(conds, infrav1.ConditionReady)
}

func (h health) apply(conds *[]metav1.Condition, gen int64) {
	if h.fleet != nil {
		h.fleet.applyReady(conds, gen)
	} else {
		h.applyReady(conds, gen)
	}
	if h.unsynced {
		setCondition(conds, gen, infrav1.ConditionSynced, false, h.reason, h.message)
	} else {
		setCondition(conds, gen, infrav1.ConditionSynced, true, infrav1.ReasonReconcileSuccess, "")
	}
	quiet := infrav1.ReasonAsExpected
	if h.paused {
		quiet = infrav1.ReasonPaused
	}
	set := func(typ string, on bool) {
		if on {
			setCondition(conds, gen, typ, true, h.reason, h.message)
		} else {
			setCondition(conds, gen, typ, false, quiet, "")
		}
	}
	set(infrav1.ConditionProgressing, h.progressing && !h.stalled)
	set(infrav1.ConditionReconciling, h.progressing && !h.stalled)
	set(infrav1.ConditionDegraded, h.degraded || h.stalled)
	set(infrav1.ConditionStalled, h.stalled)
}

// applyReady judges Ready from an observation. Without one, a Ready=True this generation
// observed stays; a Ready about an older spec says nothing about this one, so it turns False.
func (h health) applyReady(conds *[]metav1.Condition, gen int64) {
	if h.paused {
		c := findCondition(*conds, infrav1.ConditionReady)
		setCondition(conds, gen, infrav1.ConditionReady, c != nil && c.Status == metav1.ConditionTrue, h.reason, h.message)
		return
	}
	if h.observed {
		setCondition(conds, gen, infrav1.ConditionReady, h.ready, h.reason, h.message)
		return
	}
	// Only a True is worth keeping: a False takes the newest reason, so it says what is wrong now.
	if c := findCondition(*conds, infrav1.ConditionReady); c != nil && c.ObservedGeneration == gen && c.Status == metav1.ConditionTrue {
		return
	}
	setCondition(conds, gen, infrav1.ConditionReady, false, h.reason, h.message)
}

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
