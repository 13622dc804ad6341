package creates

import (
	"sync"
	"time"
)

// SendLog remembers when this process last sent a create call for each set identity, and
// since when it has been acting. Instances of an identity can only appear through a create
// call, so a snapshot that started after the last call that could still land (ours, or one an
// earlier process sent before this one started acting) shows every instance the identity has:
// a new set can decide with any such snapshot instead of waiting for a list taken after it was
// created.
type SendLog struct {
	mu      sync.Mutex
	started time.Time
	floor   time.Time // the newest entry ever pruned
	sent    map[string]time.Time
}

const sendLogPrune = 4096

// Start marks when this process began acting.
func (l *SendLog) Start(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started = at
}

// Sending records a create call for identity; call it before the call can be sent.
func (l *SendLog) Sending(identity string, at time.Time, ambiguity time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string]time.Time{}
	}
	l.sent[identity] = at
	if len(l.sent) > sendLogPrune {
		for id, t := range l.sent {
			if at.Sub(t) > 2*ambiguity {
				delete(l.sent, id)
				if t.After(l.floor) {
					l.floor = t
				}
			}
		}
	}
}

// CompleteAfter is when a snapshot must have started to show every instance of identity; the
// zero time means unknown (the controller has not started).
func (l *SendLog) CompleteAfter(identity string, ambiguity time.Duration) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.IsZero() {
		return time.Time{}
	}
	t := l.started
	if l.floor.After(t) {
		t = l.floor
	}
	if s, ok := l.sent[identity]; ok && s.After(t) {
		t = s
	}
	return t.Add(ambiguity + TimestampPrecision)
}
