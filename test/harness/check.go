package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

const tagTemplate = "tio-tpl:"

// Fleet is what the test asked for: the sets that exist with their desired replicas, the sets
// that were deleted, and the sets deleted with deletionPolicy Orphan, with the instances they
// left running (recorded when they were deleted, converged).
type Fleet struct {
	Active   map[SetKey]int
	Deleted  []SetKey
	Orphaned map[SetKey][]int64
}

// Identities maps the tio-set identity of every set of the fleet to its key.
func (f Fleet) Identities() map[string]SetKey {
	out := map[string]SetKey{}
	for k := range f.Active {
		out[k.Identity()] = k
	}
	for _, k := range f.Deleted {
		out[k.Identity()] = k
	}
	for k := range f.Orphaned {
		out[k.Identity()] = k
	}
	return out
}

// FleetReport is the comparison of the fleet with the emulator's ledger and the create calls
// seen on the wire.
type FleetReport struct {
	Problems []string
	// Created and Terminated count instances over the whole run; Live those running now.
	Created, Terminated, Live int
	CreateCalls               int
	Duplicates                int
	Protocol                  ProtocolAudit
}

func (r FleetReport) String() string {
	return fmt.Sprintf("%d instances created by %d create calls, %d terminated, %d live, %d duplicated; %s; %d problem(s)",
		r.Created, r.CreateCalls, r.Terminated, r.Live, r.Duplicates, r.Protocol, len(r.Problems))
}

// CheckFleet requires, from Talis's own records: each active set has exactly its desired
// instances live, all on the current template and all recorded in its status; deleted sets have
// none; orphaned sets have exactly the instances they left running; every instance ever created
// is owned by an active set, a recorded orphan, or terminated (the emulator serves only this fleet); no create attempt was sent twice or created more than it asked for; no
// create was sent after its deadline, and none that reached Talis in time was given up on
// (AuditProtocol).
func CheckFleet(ctx context.Context, c client.Client, ledger []emulator.LedgerEntry, recs []Record, f Fleet) FleetReport {
	var r FleetReport
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	by := LedgerByIdentity(ledger)
	ids := f.Identities()
	for _, e := range ledger {
		r.Created++
		if e.Status == "terminated" {
			r.Terminated++
		} else {
			r.Live++
		}
	}
	for key, want := range f.Active {
		sl := by[key.Identity()]
		live := sl.LiveIDs()
		var s infrav1.TalisInstanceSet
		if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, &s); err != nil {
			problem("%s: %v", key, err)
			continue
		}
		var owned []int64
		for _, in := range s.Status.Instances {
			if in.TerminatingSince == nil {
				owned = append(owned, in.ID)
			}
		}
		slices.Sort(owned)
		if len(live) != want {
			problem("%s: %d live instances in Talis %v, want %d", key, len(live), live, want)
		}
		if !slices.Equal(live, owned) {
			problem("%s: live in Talis %v but the status owns %v", key, live, owned)
		}
		if sl != nil {
			for _, e := range sl.Live {
				if !slices.Contains(e.Tags, tagTemplate+s.Status.TemplateHash) {
					problem("%s: instance %d runs an outdated template (tags %v, current %s)", key, e.ID, e.Tags, s.Status.TemplateHash)
				}
			}
		}
	}
	for _, key := range f.Deleted {
		if _, again := f.Active[key]; again {
			continue // re-created under the same name: its instances are the new set's
		}
		if _, orphaned := f.Orphaned[key]; orphaned {
			continue
		}
		if live := by[key.Identity()].LiveIDs(); len(live) > 0 {
			problem("%s was deleted but instances %v are still live (leaked)", key, live)
		}
	}
	for key, left := range f.Orphaned {
		if _, again := f.Active[key]; again {
			continue
		}
		want := slices.Clone(left)
		slices.Sort(want)
		if live := by[key.Identity()].LiveIDs(); !slices.Equal(live, want) {
			problem("%s was deleted with deletionPolicy Orphan leaving %v, but %v are live", key, want, live)
		}
	}
	for id, sl := range by {
		key, known := ids[id]
		if _, active := f.Active[key]; known && active {
			continue
		}
		if live := sl.LiveIDs(); len(live) > 0 && !known {
			problem("instances %v (tio-set %q) are live and belong to no set of the test", live, id)
		}
	}
	audit := AuditCreates(recs, ledger, ids)
	r.CreateCalls = audit.TotalCalls
	r.Duplicates = len(audit.Duplicates)
	for _, d := range audit.Duplicates {
		problem("duplicate: %s", d)
	}
	for _, u := range audit.Unexplained {
		problem("unexplained: %s", u)
	}
	r.Protocol = AuditProtocol(recs, ledger, ids)
	for _, o := range r.Protocol.Overlapping {
		problem("given up on, then applied: %s", o)
	}
	for _, l := range r.Protocol.SentLate {
		problem("create sent late: %s", l)
	}
	return r
}

// Err is nil when the report has no problems.
func (r FleetReport) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s:\n  %s", r, strings.Join(r.Problems, "\n  "))
}
