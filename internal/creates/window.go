package creates

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// TimestampPrecision is the margin for times that status keeps in whole seconds (metav1.Time):
// a truncated timestamp must never make an event look older than it is.
const TimestampPrecision = time.Second

// DefaultMaxClockSkew is how far apart the clocks of two managers of one cluster are assumed to
// be at most (--max-clock-skew). A create is sent and recorded on its sender's clock but may be
// judged on another manager's (after a leader handover or a restart elsewhere); the judge waits
// this much longer before it may say "not applied". Kubernetes nodes keep their clocks within
// well under a second by NTP; 30 s covers a node whose time sync has failed for days, and only
// delays the verdict on a create whose reply was lost.
const DefaultMaxClockSkew = 30 * time.Second

// Window bounds when a create recorded at RequestedAt can take effect in Talis, as this manager
// sends it; Skew is what it allows for another manager's clock when it judges a create.
type Window struct {
	// Send is how long after its intent a create may still be sent: the request's deadline.
	Send time.Duration
	// Land is how long after its intent the create's instances may still appear: Send plus
	// the time Talis may take to finish a request it received before the deadline.
	Land time.Duration
	// Skew bounds how far this manager's clock may be ahead of the clock of the manager that
	// sent a create (DefaultMaxClockSkew unless --max-clock-skew says otherwise).
	Skew time.Duration
}

// Deadline is when the create recorded at requestedAt must have been sent, or never be.
func (w Window) Deadline(requestedAt time.Time) time.Time { return requestedAt.Add(w.Send) }

// Promise records in pc, before it is sent, what its sender promises: the call is never sent
// after SendBy, and its instances appear by LandBy, both on the sender's clock. Whichever manager
// judges the create later holds to it even if its own window is shorter.
func (w Window) Promise(pc *infrav1.PendingCreate) {
	sendBy, landBy := metav1.NewTime(w.Deadline(pc.RequestedAt.Time)), metav1.NewTime(pc.RequestedAt.Add(w.Land))
	pc.SendBy, pc.LandBy = &sendBy, &landBy
}

// LandBy is when, on this manager's clock, every instance the create pc may make has appeared:
// the later of its sender's promise (pc.LandBy; absent in intents of older managers) and this
// manager's own window, plus the skew between the two managers' clocks and the precision of
// the recorded times.
func (w Window) LandBy(pc *infrav1.PendingCreate) time.Time {
	t := pc.RequestedAt.Add(w.Land)
	if pc.LandBy != nil && pc.LandBy.After(t) {
		t = pc.LandBy.Time
	}
	return t.Add(w.Skew + TimestampPrecision)
}

// Closed reports whether a snapshot that started at snapStart (on this manager's clock) shows
// every instance the create pc made.
func (w Window) Closed(pc *infrav1.PendingCreate, snapStart time.Time) bool {
	return snapStart.After(w.LandBy(pc))
}
