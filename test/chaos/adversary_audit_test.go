package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

func (a *adversary) reusedAttempts(recs []harness.Record, ledger []emulator.LedgerEntry) map[string]string {
	a.mu.Lock()
	born := map[string][]time.Time{}
	names := map[string]harness.SetKey{}
	for k, ts := range a.incarnations {
		born[k.Identity()], names[k.Identity()] = slices.Clone(ts), k
	}
	a.mu.Unlock()
	type call struct {
		r     harness.Record
		count int
	}
	calls := map[string][]call{}
	for _, r := range recs {
		for _, c := range r.Create {
			if k := attemptOf(c.Tags); born[strings.Split(k, "/")[0]] != nil {
				calls[k] = append(calls[k], call{r, c.Count})
			}
		}
	}
	made := map[string][]emulator.LedgerEntry{}
	for _, e := range ledger {
		made[attemptOf(e.Tags)] = append(made[attemptOf(e.Tags)], e)
	}
	incarnation := func(id string, at time.Time) int {
		n := 0
		for _, b := range born[id] {
			if !b.After(at) {
				n++
			}
		}
		return n
	}
	out := map[string]string{}
	for k, cs := range calls {
		if len(cs) < 2 {
			continue
		}
		id := strings.Split(k, "/")[0]
		sort.Slice(cs, func(i, j int) bool { return cs[i].r.Arrived.Before(cs[j].r.Arrived) })
		harmless := true
		var evidence []string
		for i, c := range cs {
			from, until := c.r.Arrived, time.Time{}
			if i+1 < len(cs) {
				until = cs[i+1].r.Arrived
				if incarnation(id, c.r.Arrived) >= incarnation(id, until) || c.r.Responded.IsZero() || !c.r.Responded.Before(until) {
					harmless = false
				}
			}
			var ids []uint64
			for _, e := range made[k] {
				if e.CreatedAt.Before(from) || (!until.IsZero() && !e.CreatedAt.Before(until)) {
					continue
				}
				ids = append(ids, e.ID)
				if !until.IsZero() && (e.TerminatedAt == nil || !e.TerminatedAt.Before(until)) {
					harmless = false
				}
			}
			if len(ids) > c.count {
				harmless = false
			}
			evidence = append(evidence, fmt.Sprintf("incarnation %d sent it at %s for %d, made %v", incarnation(id, c.r.Arrived),
				c.r.Arrived.Format("15:04:05.000"), c.count, ids))
		}
		if harmless {
			out[k] = fmt.Sprintf("%s attempt %s: %s; each earlier one's instances terminated before the next was sent",
				names[id], strings.Split(k, "/")[1], strings.Join(evidence, "; "))
		}
	}
	return out
}

// checkFleet is CheckFleet with the attempts reusedAttempts explains taken out of its duplicates.
func (a *adversary) checkFleet(recs []harness.Record, ledger []emulator.LedgerEntry, want harness.Fleet) (harness.FleetReport, map[string]string) {
	report := harness.CheckFleet(ctx, cp.Client, ledger, recs, want)
	reused := a.reusedAttempts(recs, ledger)
	kept := report.Problems[:0]
	for _, p := range report.Problems {
		explained := false
		for k := range reused {
			id, try, _ := strings.Cut(k, "/")
			key := a.keyOf(id)
			if strings.HasPrefix(p, fmt.Sprintf("duplicate: %s attempt %s ", key, try)) || strings.HasPrefix(p, fmt.Sprintf("duplicate: %s attempt %s:", key, try)) {
				explained = true
				report.Duplicates--
			}
		}
		if !explained {
			kept = append(kept, p)
		}
	}
	report.Problems = kept
	return report, reused
}

func (a *adversary) keyOf(identity string) harness.SetKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.incarnations {
		if k.Identity() == identity {
			return k
		}
	}
	return harness.SetKey{}
}

func (a *adversary) reportReused(reused map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(reused)) {
		a.count("attempt-number-reused-by-a-re-created-set")
		a.logf("attempt number reused: %s", reused[k])
	}
}

// diagnose prints, for every set whose instances in Talis are not what the test expects, what
// the ledger, the wire and the events say about it.
func (a *adversary) diagnose(want harness.Fleet, problems string) {
	recs, _, _ := a.records()
	by := harness.LedgerByIdentity(a.emu.Ledger())
	suspects := map[harness.SetKey]bool{}
	for _, k := range want.Deleted {
		if _, again := want.Active[k]; !again && len(by[k.Identity()].LiveIDs()) > 0 {
			suspects[k] = true
		}
	}
	for k, n := range want.Active {
		if len(by[k.Identity()].LiveIDs()) != n || strings.Contains(problems, k.String()+" ") {
			suspects[k] = true
		}
	}
	for k := range want.Orphaned {
		if strings.Contains(problems, k.String()+" ") {
			suspects[k] = true
		}
	}
	for k := range suspects {
		var b strings.Builder
		fmt.Fprintf(&b, "%s (tio-set %s):\n  ledger:\n", k, k.Identity())
		mine := map[int64]bool{}
		if sl := by[k.Identity()]; sl != nil {
			for _, e := range sl.All {
				mine[int64(e.ID)] = true
				fmt.Fprintf(&b, "    %d %s created %s terminated %v tags %v\n", e.ID, e.Status, e.CreatedAt.Format("15:04:05.000"), e.TerminatedAt, e.Tags)
			}
		}
		b.WriteString("  create and terminate calls:\n")
		for _, r := range recs {
			for _, c := range r.Create {
				if slices.Contains(c.Tags, "tio-set:"+k.Identity()) {
					fmt.Fprintf(&b, "    create %v x%d arrived %s forwarded %s deadline %s answered %d at %s\n", c.Tags[:3], c.Count,
						r.Arrived.Format("15:04:05.000"), r.Forwarded.Format("15:04:05.000"), r.Deadline.Format("15:04:05.000"), r.Status, r.Responded.Format("15:04:05.000"))
				}
			}
			if r.Method == "DELETE" && slices.ContainsFunc(r.InstanceIDs, func(id int64) bool { return mine[id] }) {
				fmt.Fprintf(&b, "    terminate %v arrived %s answered %d\n", r.InstanceIDs, r.Arrived.Format("15:04:05.000"), r.Status)
			}
		}
		b.WriteString("  events:\n")
		evs, _ := harness.Events(ctx, cp.Client, k.Namespace)
		slices.SortFunc(evs, func(x, y harness.Event) int { return x.Time.Compare(y.Time) })
		for _, e := range evs {
			if e.Object == "TalisInstanceSet/"+k.Name {
				fmt.Fprintf(&b, "    %s %s\n", e.Time.Format("15:04:05"), e)
			}
		}
		a.t.Log(b.String())
	}
	a.t.Logf("event log of the test: windows %v", a.windows)
}

// wireProblems reads the ledger and both gateways' records for reach across tenants and for
// calls made while a manager had another cluster ID or URL.
func (a *adversary) wireProblems(ledger []emulator.LedgerEntry, viaA, viaB []harness.Record) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	more := 0
	add := func(format string, args ...any) {
		if len(out) < 25 {
			out = append(out, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	in := map[int64]string{} // instance → Talis project
	for _, e := range ledger {
		in[int64(e.ID)] = e.Project
		id := ""
		for _, tag := range e.Tags {
			if v, ok := harness.IdentityOfTag(tag); ok {
				id = v
			}
		}
		ns, known := a.identityNS[id]
		switch {
		case !known:
			add("instance %d (tags %v) belongs to no set of the test", e.ID, e.Tags)
		case a.projectNS[e.Project] != ns:
			add("instance %d of a set in %s was created in Talis project %q, not its tenant's", e.ID, ns, e.Project)
		}
	}
	stamp := func(r harness.Record) string {
		return fmt.Sprintf("%s %s at %s", r.Method, r.Path, r.Arrived.Format("15:04:05.000"))
	}
	writes := func(r harness.Record) bool {
		return len(r.Create) > 0 || r.Method == "DELETE" || r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete
	}
	for _, r := range slices.Concat(viaA, viaB) {
		owner, ok := a.keyOwner[r.APIKey]
		if !ok {
			add("%s carried a key that is no tenant's", stamp(r))
			continue
		}
		theirs := func(project string) bool { return a.projectNS[project] == owner }
		for _, c := range r.Create {
			if !theirs(c.Project) {
				add("%s: a create in Talis project %q with the key of %s", stamp(r), c.Project, owner)
			}
		}
		switch {
		case r.Method == "DELETE":
			if !theirs(r.Project) {
				add("%s: a terminate in Talis project %q with the key of %s", stamp(r), r.Project, owner)
			}
			for _, id := range r.InstanceIDs {
				if in[id] != r.Project {
					add("%s: terminate of instance %d, which is in %q, sent for project %q", stamp(r), id, in[id], r.Project)
				}
			}
		case r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete:
			if !theirs(r.Project) {
				add("%s: %s of Talis project %q with the key of %s", stamp(r), r.RPC, r.Project, owner)
			}
		case r.Method == "GET" && len(r.InstanceIDs) > 0:
			for _, id := range r.InstanceIDs {
				if !theirs(in[id]) {
					add("%s: the tasks of instance %d (in %q) read with the key of %s", stamp(r), id, in[id], owner)
				}
			}
		}
	}
	// A project's calls go to the endpoint it was created at, whatever --talis-url says later.
	for gw, recs := range map[string][]harness.Record{"A": viaA, "B": viaB} {
		for _, r := range recs {
			names := []string{r.Project}
			for _, c := range r.Create {
				names = append(names, c.Project)
			}
			for _, n := range names {
				if n != "" && a.viaB[n] != (gw == "B") {
					add("%s: a call naming Talis project %q went through gateway %s, not the one it was created at", stamp(r), n, gw)
				}
			}
		}
	}
	inURLWindow := func(r harness.Record) bool {
		return slices.ContainsFunc(a.windows, func(w window) bool {
			return w.kind == evTalisURL && r.Arrived.After(w.from) && r.Arrived.Before(w.to)
		})
	}
	for _, r := range viaB {
		if a.managerKeys[r.APIKey] && !inURLWindow(r) {
			add("%s: the manager's key went to gateway B while its --talis-url was A", stamp(r))
		}
	}
	for _, w := range a.windows {
		during := func(r harness.Record) bool { return r.Arrived.After(w.from) && r.Arrived.Before(w.to) }
		for _, r := range viaA {
			if during(r) && w.kind == evTalisURL && a.managerKeys[r.APIKey] {
				add("%s: the manager's key went to %s while its --talis-url was %s", stamp(r), a.gwA.URL(), a.gwB.URL())
			}
		}
		for _, r := range slices.Concat(viaA, viaB) {
			if during(r) && w.kind == evClusterID && writes(r) {
				add("%s (%s %v): written to Talis while the manager ran with another --cluster-id", stamp(r), r.RPC, r.InstanceIDs)
			}
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("... and %d more", more))
	}
	return out
}

// wireSummary counts the calls that the cross-tenant checks read.
func wireSummary(recs []harness.Record) string {
	c := map[string]int{}
	for _, r := range recs {
		switch {
		case len(r.Create) > 0:
			c["creates"]++
		case r.Method == "DELETE":
			c["terminates"]++
		case r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete:
			c["project-writes"]++
		case r.RPC != "":
			c["rpc-reads"]++
		case len(r.InstanceIDs) > 0:
			c["task-reads"]++
		default:
			c["lists"]++
		}
	}
	return countList(c)
}

// windowSummary says how many calls each gateway saw while a manager ran with another
// --cluster-id or --talis-url.
func (a *adversary) windowSummary(viaA, viaB []harness.Record) string {
	n := map[string]int{}
	for _, w := range a.windows {
		for gw, recs := range map[string][]harness.Record{"A": viaA, "B": viaB} {
			for _, r := range recs {
				if r.Arrived.After(w.from) && r.Arrived.Before(w.to) {
					n[w.kind+"-window calls via "+gw]++
				}
			}
		}
	}
	return countList(n)
}

func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
