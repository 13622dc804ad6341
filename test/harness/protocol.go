package harness

import (
	"fmt"
	"sort"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// sendSlack allows for the time between the client's last deadline check and the proxy's
// timestamp of a request that was already on its way.
const sendSlack = 100 * time.Millisecond

// ProtocolAudit checks, from the wire log and Talis's ledger only, the invariants the create
// protocol rests on.
type ProtocolAudit struct {
	// SentLate lists create calls that reached the proxy after the deadline they carried, or
	// carried none: the operator must never send a create its "not applied" verdict may outrun.
	SentLate []string
	// Overlapping lists attempts whose instances Talis created after a later attempt of the same
	// set had been sent, although they reached Talis within their deadline: the operator gave up
	// on a create (declared it not applied) that Talis then applied.
	Overlapping []string
	// HeldLate counts create calls the test's proxy held past their deadline before passing them
	// on; LateInstances the instances Talis made for them anyway. They are the only instances
	// that may appear after the operator has moved on, and they must be absorbed by the set
	// (CheckFleet's live == desired shows it).
	HeldLate, LateInstances int
}

type attemptKey struct {
	identity string
	attempt  int64
}

type attemptWire struct {
	sent, forwarded, deadline time.Time
}

// AuditProtocol reads the create calls on record and the ledger for the identities in ids.
func AuditProtocol(recs []Record, ledger []emulator.LedgerEntry, ids map[string]SetKey) ProtocolAudit {
	var a ProtocolAudit
	wire := map[attemptKey]attemptWire{}
	for _, r := range recs {
		for _, c := range r.Create {
			id, attempt := ownership(c.Tags)
			if _, ok := ids[id]; !ok {
				continue
			}
			k := attemptKey{id, attempt}
			if w, seen := wire[k]; !seen || r.Arrived.Before(w.sent) {
				wire[k] = attemptWire{sent: r.Arrived, forwarded: r.Forwarded, deadline: r.Deadline}
			}
			switch {
			case r.Deadline.IsZero():
				a.SentLate = append(a.SentLate, fmt.Sprintf("%s attempt %d was sent without a deadline", ids[id], attempt))
			case r.Arrived.After(r.Deadline.Add(sendSlack)):
				a.SentLate = append(a.SentLate, fmt.Sprintf("%s attempt %d was sent %s after its deadline",
					ids[id], attempt, r.Arrived.Sub(r.Deadline).Round(time.Millisecond)))
			}
		}
	}
	heldLate := map[attemptKey]bool{}
	for k, w := range wire {
		if !w.deadline.IsZero() && !w.forwarded.IsZero() && w.forwarded.After(w.deadline) {
			heldLate[k] = true
			a.HeldLate++
		}
	}
	landed := map[attemptKey]time.Time{}
	for _, e := range ledger {
		id, attempt := ownership(e.Tags)
		k := attemptKey{id, attempt}
		if _, ok := ids[id]; !ok {
			continue
		}
		if heldLate[k] {
			a.LateInstances++
		}
		if t, ok := landed[k]; !ok || e.CreatedAt.Before(t) {
			landed[k] = e.CreatedAt
		}
	}
	for n, at := range landed {
		if heldLate[n] {
			continue
		}
		for m, w := range wire {
			if m.identity == n.identity && m.attempt > n.attempt && w.sent.Before(at) {
				a.Overlapping = append(a.Overlapping, fmt.Sprintf("%s attempt %d landed in Talis %s after attempt %d was sent",
					ids[n.identity], n.attempt, at.Sub(w.sent).Round(time.Millisecond), m.attempt))
			}
		}
	}
	sort.Strings(a.SentLate)
	sort.Strings(a.Overlapping)
	return a
}

// String is the audit's summary line.
func (a ProtocolAudit) String() string {
	return fmt.Sprintf("%d applied after being given up on, %d sent after their deadline, %d held past it by the proxy (%d late instances)",
		len(a.Overlapping), len(a.SentLate), a.HeldLate, a.LateInstances)
}
