package creates

import "time"

// TimestampPrecision is the margin for times that status keeps in whole seconds (metav1.Time):
// a truncated timestamp must never make an event look older than it is.
const TimestampPrecision = time.Second

// Window bounds when a create recorded at RequestedAt can take effect in Talis.
type Window struct {
	// Send is how long after its intent a create may still be sent: the request's deadline.
	Send time.Duration
	// Land is how long after its intent the create's instances may still appear: Send plus
	// the time Talis may take to finish a request it received before the deadline.
	Land time.Duration
}

// Deadline is when the create recorded at requestedAt must have been sent, or never be.
func (w Window) Deadline(requestedAt time.Time) time.Time { return requestedAt.Add(w.Send) }

// Closed reports whether a snapshot that started at snapStart shows every instance the create
// recorded at requestedAt made (requestedAt may be truncated to seconds).
func (w Window) Closed(requestedAt, snapStart time.Time) bool {
	return snapStart.After(requestedAt.Add(w.Land + TimestampPrecision))
}
