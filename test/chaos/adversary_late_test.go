package chaos

import (
	"maps"
	"slices"
	"strings"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

func (a *adversary) lateAfterDeletion(recs []harness.Record, ledger []emulator.LedgerEntry, want harness.Fleet) map[harness.SetKey][]int64 {
	held := map[string]bool{} // identity/attempt forwarded past its deadline
	for _, r := range recs {
		if r.Deadline.IsZero() || r.Forwarded.IsZero() || !r.Forwarded.After(r.Deadline) {
			continue
		}
		for _, c := range r.Create {
			held[attemptOf(c.Tags)] = true
		}
	}
	a.mu.Lock()
	deletedAt := maps.Clone(a.deletedAt)
	a.mu.Unlock()
	gone := slices.Clone(want.Deleted)
	for k := range want.Orphaned {
		gone = append(gone, k)
	}
	by := harness.LedgerByIdentity(ledger)
	out := map[harness.SetKey][]int64{}
	for _, k := range gone {
		at, deleted := deletedAt[k]
		if _, again := want.Active[k]; again || !deleted || by[k.Identity()] == nil || len(out[k]) > 0 {
			continue
		}
		for _, e := range by[k.Identity()].All {
			if !slices.Contains(want.Orphaned[k], int64(e.ID)) && e.CreatedAt.After(at) && held[attemptOf(e.Tags)] {
				out[k] = append(out[k], int64(e.ID))
			}
		}
	}
	return out
}

// attemptOf is "<tio-set>/<tio-try>" of an instance's or a create request's tags.
func attemptOf(tags []string) string {
	var id, try string
	for _, tag := range tags {
		if v, ok := harness.IdentityOfTag(tag); ok {
			id = v
		} else if v, ok := strings.CutPrefix(tag, "tio-try:"); ok {
			try = v
		}
	}
	return id + "/" + try
}

// withLateOrphans is want with the late arrivals of orphaned sets that are still live counted
// among their orphans.
func withLateOrphans(want harness.Fleet, late map[harness.SetKey][]int64, ledger []emulator.LedgerEntry) harness.Fleet {
	out := want
	out.Orphaned = map[harness.SetKey][]int64{}
	for k, v := range want.Orphaned {
		out.Orphaned[k] = slices.Clone(v)
		for _, id := range late[k] {
			if ledger[id-1].Status != "terminated" {
				out.Orphaned[k] = append(out.Orphaned[k], id)
			}
		}
	}
	return out
}

// reportLate logs the late arrivals after a deletion, with the evidence, and what became of them.
func (a *adversary) reportLate(want harness.Fleet, late map[harness.SetKey][]int64) {
	recs, _, _ := a.records()
	ledger := a.emu.Ledger()
	for _, k := range slices.SortedFunc(maps.Keys(late), func(x, y harness.SetKey) int { return strings.Compare(x.String(), y.String()) }) {
		_, orphaned := want.Orphaned[k]
		for _, id := range late[k] {
			e := ledger[id-1]
			var call harness.Record
			for _, r := range recs {
				if slices.ContainsFunc(r.Create, func(c harness.CreateRequest) bool { return attemptOf(c.Tags) == attemptOf(e.Tags) }) {
					call = r
				}
			}
			fate := "swept"
			switch {
			case e.Status != "terminated" && orphaned:
				fate = "left with the orphans"
			case e.Status != "terminated":
				fate = "LIVE"
			}
			a.count("late-create-after-deletion-" + strings.ReplaceAll(fate, " ", "-"))
			a.logf("late create after deletion: instance %d of %s (%s) made by Talis at %s, after the set's deletion was asked at %s; its create reached the gateway at %s (deadline %s) and was held until %s: %s",
				id, k, strings.TrimPrefix(attemptOf(e.Tags), k.Identity()+"/"), e.CreatedAt.Format("15:04:05.000"), a.deletedAt[k].Format("15:04:05.000"),
				call.Arrived.Format("15:04:05.000"), call.Deadline.Format("15:04:05.000"), call.Forwarded.Format("15:04:05.000"), fate)
		}
	}
}

// reusedAttempts finds create attempts that a later incarnation of a set (re-created under the
// same name) numbered again. A new set continues the attempt numbers of the instances it finds
// live in Talis, which lists no terminated instance: a number whose instances were all terminated
// before the set was re-created is used again. That breaks the uniqueness of a tio-set/tio-try
// pair that AuditCreates assumes, without making an instance too many: no look-up by tag can see
// the terminated ones. It returns the identity/attempt pairs where that is all that happened, with
// the evidence: each call made by another incarnation, each earlier call answered before the next
// was sent with every instance it made terminated by then, and no call's instances more than it
// asked for. Anything else (an attempt sent twice by one incarnation, or numbered again while an
// instance of it was live or its call still in flight) stays a duplicate.
