package shared

import (
	"math/rand/v2"
	"time"

	"github.com/talis-operator/talis-operator/internal/creates"
)

// Timing holds every interval the reconcilers wait on; tests shorten them.
type Timing struct {
	// Resync is the steady-state poll of a set whose instances are all as wanted (jittered ±10%).
	Resync time.Duration
	// PollMin and PollMax bound the backing-off poll while something is progressing.
	PollMin, PollMax time.Duration
	// ErrorRetry is the wait after a problem only a person or Talis can fix.
	ErrorRetry time.Duration
	// CreateDeadline is how long after its intent is recorded a create may still be sent; the
	// request carries it and the client never writes it later (CreateAmbiguity/2 if zero).
	CreateDeadline time.Duration
	// CreateAmbiguity is how long after its intent a create's instances may still appear in
	// Talis: CreateDeadline plus the server's processing time.
	CreateAmbiguity time.Duration
	// MaxClockSkew bounds how far apart the clocks of two managers may be: a create sent by one
	// may be judged by another (creates.Window.Skew). Talis's clock is taken to be as close when
	// a worker's lock on a create task is judged expired.
	MaxClockSkew time.Duration
	// TerminateSettle is, for owners whose tasks Talis hides (or with TaskCheck 0), the least
	// time an instance terminated before its create finished stays watched: Talis lets a running
	// create write over a terminate, and the instance comes back. The default is the five
	// minutes Talis's worker holds a task before handing it to another. With tasks shown, the
	// watch ends when Talis shows the create task done or its worker's lock expired.
	TerminateSettle time.Duration
	// TerminateRetry is how long a terminated instance may stay live before the call is repeated.
	TerminateRetry time.Duration
	// MaxCreateBatch caps the instances one set asks for in one create intent; the batcher may
	// put several sets' intents into one call, up to its own cap (creates.DefaultMaxBatchInstances).
	MaxCreateBatch int
	// MissingProjectGrace is how long after a set is created a missing TalisProject is only
	// waited for: applied together, the set often lands first.
	MissingProjectGrace time.Duration
	// DetailWrite is the least time between two status writes of a set when the second only adds
	// detail (instance IDs and states short of ready); health and ready counts are written at once.
	DetailWrite time.Duration
	// DriftPoll is how often the instance list of an endpoint with steady sets is compared with
	// what they recorded, waking those it contradicts; 0 leaves drift to Resync.
	DriftPoll time.Duration
	// TaskCheck is how long after it is recorded a not-ready instance has its create task looked
	// up in Talis; later look-ups of the same instance back off from it. 0 turns look-ups off.
	TaskCheck time.Duration
	// FailureBackoff is the first wait before replacing instances whose create task failed; it
	// doubles per failed attempt in a row, up to the set's spec.replacementBackoffLimit.
	FailureBackoff time.Duration
	// StallAfter is how many create attempts in a row may fail the same way before the set
	// stops creating (Stalled); 0 never stops.
	StallAfter int
	// StrayGrace is how long a project's sweep sees an instance as a stray (tagged for a set of
	// the project that no longer exists) before it terminates it: a set re-created under the same
	// name meanwhile adopts it instead, and a cache that lags behind a new set never costs one
	// of its instances.
	StrayGrace time.Duration
}

// DefaultTiming is what the manager runs with unless flags say otherwise.
func DefaultTiming() Timing {
	return Timing{
		Resync:          10 * time.Minute,
		PollMin:         time.Second,
		PollMax:         30 * time.Second,
		ErrorRetry:      30 * time.Second,
		CreateDeadline:  30 * time.Second,
		CreateAmbiguity: 45 * time.Second,
		MaxClockSkew:    creates.DefaultMaxClockSkew,
		TerminateRetry:  time.Minute,
		TerminateSettle: 5 * time.Minute,
		MaxCreateBatch:  100,
		DetailWrite:     5 * time.Second,
		DriftPoll:       30 * time.Second,
		TaskCheck:       3 * time.Second,
		FailureBackoff:  10 * time.Second,
		StallAfter:      4,
		StrayGrace:      30 * time.Second,

		MissingProjectGrace: 30 * time.Second,
	}
}

// CreateWindow is when a create recorded now can take effect in Talis, and the clock skew allowed
// when judging one another manager may have sent.
func (t Timing) CreateWindow() creates.Window {
	send := t.CreateDeadline
	if send <= 0 || send > t.CreateAmbiguity {
		send = t.CreateAmbiguity / 2
	}
	return creates.Window{Send: send, Land: t.CreateAmbiguity, Skew: max(t.MaxClockSkew, 0)}
}

// jitter spreads steady-state polls so that thousands of sets do not poll in lockstep.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}
