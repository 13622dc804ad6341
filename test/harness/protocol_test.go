package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func sentAt(r Record, sent, forwarded, deadline time.Time) Record {
	r.Arrived, r.Forwarded, r.Deadline = sent, forwarded, deadline
	return r
}

func landedAt(e emulator.LedgerEntry, at time.Time) emulator.LedgerEntry {
	e.CreatedAt = at
	return e
}

// The duplicate the slow-terminate bug made: attempt 2 was still on its way when the operator
// declared it not applied and sent attempt 3; both landed.
func TestAuditProtocolFindsAnAttemptGivenUpOnThenApplied(t *testing.T) {
	a := SetKey{"ns", "a"}
	ids := map[string]SetKey{a.Identity(): a}
	t0 := time.Unix(1_800_000_000, 0)
	recs := []Record{
		sentAt(createCall(a, "1", 2), t0, t0, t0.Add(10*time.Second)),
		sentAt(createCall(a, "2", 2), t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(70*time.Second)),
		sentAt(createCall(a, "3", 2), t0.Add(65*time.Second), t0.Add(65*time.Second), t0.Add(75*time.Second)),
	}
	ledger := []emulator.LedgerEntry{
		landedAt(entry(1, a, "1", "ready"), t0.Add(time.Second)), landedAt(entry(2, a, "1", "ready"), t0.Add(time.Second)),
		landedAt(entry(3, a, "2", "ready"), t0.Add(68*time.Second)), landedAt(entry(4, a, "2", "ready"), t0.Add(68*time.Second)),
		landedAt(entry(5, a, "3", "ready"), t0.Add(66*time.Second)), landedAt(entry(6, a, "3", "ready"), t0.Add(66*time.Second)),
	}
	got := AuditProtocol(recs, ledger, ids)
	if len(got.Overlapping) != 1 || !strings.Contains(got.Overlapping[0], "attempt 2 landed") || !strings.Contains(got.Overlapping[0], "after attempt 3") {
		t.Fatalf("overlapping: %v", got.Overlapping)
	}
	if len(got.SentLate) != 0 {
		t.Fatalf("sent late: %v", got.SentLate)
	}
	// Attempt 2 held by the proxy past its deadline is a late arrival by design, not a verdict error.
	recs[1].Forwarded = t0.Add(71 * time.Second)
	got = AuditProtocol(recs, ledger, ids)
	if len(got.Overlapping) != 0 || got.HeldLate != 1 || got.LateInstances != 2 {
		t.Fatalf("held past its deadline: %+v", got)
	}
}

func TestAuditProtocolFindsCreatesSentLateOrWithoutDeadline(t *testing.T) {
	a := SetKey{"ns", "a"}
	ids := map[string]SetKey{a.Identity(): a}
	t0 := time.Unix(1_800_000_000, 0)
	recs := []Record{
		sentAt(createCall(a, "1", 1), t0.Add(11*time.Second), t0.Add(11*time.Second), t0.Add(10*time.Second)),
		sentAt(createCall(a, "2", 1), t0, t0, time.Time{}),
		sentAt(createCall(a, "3", 1), t0, t0, t0.Add(time.Second)),
	}
	got := AuditProtocol(recs, nil, ids)
	if len(got.SentLate) != 2 || !strings.Contains(got.SentLate[0], "attempt 1 was sent 1s after") || !strings.Contains(got.SentLate[1], "without a deadline") {
		t.Fatalf("sent late: %v", got.SentLate)
	}
}
