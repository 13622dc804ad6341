package creates

import (
	"time"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// Verdict is what a snapshot says about a pending create.
type Verdict int

const (
	// Unknown: the create may still make instances; nothing may be decided on its count.
	Unknown Verdict = iota
	// Applied: instances of the attempt exist.
	Applied
	// NotApplied: the window has closed and no instance of the attempt exists; it never will,
	// except through a request held past its deadline (see Classify).
	NotApplied
)

func (v Verdict) String() string {
	return [...]string{"unknown", "applied", "not applied"}[v]
}

// Judge decides a pending create from a snapshot that started at snapStart (on this manager's
// clock); found says whether the snapshot holds an instance tagged with the pending attempt. The
// create may have been sent by another manager, with another window and clock: "not applied"
// waits for Window.LandBy, the later of the sender's promise and w, plus w.Skew.
func Judge(pc *infrav1.PendingCreate, found bool, snapStart time.Time, w Window) Verdict {
	switch {
	case found:
		return Applied
	case w.Closed(pc, snapStart):
		return NotApplied
	default:
		return Unknown
	}
}

// Arrival says why a tagged instance that status does not know yet exists.
type Arrival int

const (
	// Confirmed: made by the create that was pending.
	Confirmed Arrival = iota
	// Adopted: made before this set made any create call (a predecessor with the same name,
	// deleted with deletionPolicy Orphan).
	Adopted
	// Late: made by an attempt this set had already resolved, by a request that reached Talis
	// after its deadline. It is counted like any other instance, so the set's scale-down
	// removes whatever the spec does not want.
	Late
)

// Classify says why an unknown instance of attempt exists; lastAttempt is the set's attempt
// counter before the snapshot and confirmed the attempt this snapshot confirmed (0 if none).
func Classify(attempt, lastAttempt, confirmed int64) Arrival {
	switch {
	case confirmed != 0 && attempt == confirmed:
		return Confirmed
	case lastAttempt == 0 || attempt > lastAttempt:
		return Adopted
	default:
		return Late
	}
}
