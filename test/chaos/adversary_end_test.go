package chaos

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// ---- the end ----

func (a *adversary) records() (all, viaA, viaB []harness.Record) {
	viaA, viaB = a.gwA.Records(), a.gwB.Records()
	all = slices.Concat(viaA, viaB)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Arrived.Before(all[j].Arrived) })
	return all, viaA, viaB
}

func (a *adversary) converge() {
	t := a.t
	a.mu.Lock()
	a.holdGen++
	a.faultGen++
	a.gwA.HoldCreates(0, 0, 0, 0)
	a.gwB.HoldCreates(0, 0, 0, 0)
	a.emu.SetFaults(emulator.Faults{})
	a.mu.Unlock()
	a.prune()
	if len(a.alive) == 0 {
		a.start(a.flags)
	}
	harness.Eventually(t, 90*time.Second, "held creates forwarded", func() error {
		if n := a.gwA.CreatesInFlight() + a.gwB.CreatesInFlight(); n > 0 {
			return fmt.Errorf("%d create calls in flight", n)
		}
		return nil
	})
	want := a.expected()
	for key, n := range want.Active {
		harness.Eventually(t, 3*time.Minute, key.String()+" converged", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
	}
	for _, key := range want.Deleted {
		if _, again := want.Active[key]; !again && !slices.ContainsFunc(a.forged, func(f forgedSet) bool { return f.key == key }) {
			harness.Eventually(t, 2*time.Minute, key.String()+" deleted", func() error { return harness.Gone(ctx, cp.Client, setObj(key)) })
		}
	}
	// A create held past every window may land after its set was deleted: the project's sweep
	// terminates it once two lists 30 s apart have shown it (on the drift clock).
	var report harness.FleetReport
	var late map[harness.SetKey][]int64
	var reused map[string]string
	if err := harness.Wait(2*time.Minute, 250*time.Millisecond, func() error {
		recs, _, _ := a.records()
		ledger := a.emu.Ledger()
		late = a.lateAfterDeletion(recs, ledger, want)
		report, reused = a.checkFleet(recs, ledger, withLateOrphans(want, late, ledger))
		return report.Err()
	}); err != nil {
		t.Errorf("Talis and status do not agree: %v", err)
		a.diagnose(want, err.Error())
		t.FailNow()
	}
	a.reportLate(want, late)
	a.reportReused(reused)
	a.logf("converged: %s", report)
}

func (a *adversary) teardown() {
	t := a.t
	// The forger's sets with forged identities list instances they may not touch: the forger
	// takes them out (its own doing), so that their deletion can end.
	for _, f := range a.forged {
		forgeStatus(a, setObj(f.key), func(s *infrav1.TalisInstanceSet) { s.Status.Instances = nil })
	}
	// Orphan-policy sets leave their instances by design: those are recorded first.
	by := harness.LedgerByIdentity(a.emu.Ledger())
	a.mu.Lock()
	for _, o := range a.orphans {
		key := harness.SetKey{Namespace: o.ns, Name: "o"}
		if _, active := a.fleet.Active[key]; active {
			a.fleet.Orphaned[key] = by[key.Identity()].LiveIDs()
			delete(a.fleet.Active, key)
		}
	}
	for key := range a.fleet.Active {
		a.fleet.Deleted = append(a.fleet.Deleted, key)
		delete(a.fleet.Active, key)
	}
	a.mu.Unlock()
	started := time.Now()
	for _, ns := range a.namespaces {
		if err := cp.Client.DeleteAllOf(ctx, &infrav1.TalisInstanceSet{}, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range a.namespaces {
		if err := cp.Client.DeleteAllOf(ctx, &infrav1.TalisProject{}, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 4*time.Minute, "everything deleted", func() error { return leftIn(a.namespaces) })
	recs, viaA, viaB := a.records()
	ledger := a.emu.Ledger()
	want := a.expected()
	want = withLateOrphans(want, a.lateAfterDeletion(recs, ledger, want), ledger)
	report, _ := a.checkFleet(recs, ledger, want)
	if err := report.Err(); err != nil {
		t.Error(err)
	}
	orphaned := 0
	for _, ids := range want.Orphaned {
		orphaned += len(ids)
	}
	if report.Live != orphaned {
		t.Errorf("%d instances live after everything was deleted, want the %d that Orphan deletions left", report.Live, orphaned)
	}
	// Talis projects: only those of Orphan-policy TalisProjects may remain.
	var wantLeft, left []string
	for _, o := range a.orphans {
		if o.created {
			wantLeft = append(wantLeft, harness.ProjectName(o.ns, "p"))
		}
	}
	projects, err := a.tc.ListAllProjects(ctx, talis.AdminOwnerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		left = append(left, p.Name)
	}
	slices.Sort(wantLeft)
	slices.Sort(left)
	if !slices.Equal(left, wantLeft) {
		t.Errorf("Talis projects left after everything was deleted: %v, want only the Orphan-policy ones %v", left, wantLeft)
	}
	for _, p := range a.wireProblems(ledger, viaA, viaB) {
		t.Error(p)
	}
	a.logf("on the wire: gateway A %s; gateway B %s; %s", wireSummary(viaA), wireSummary(viaB), a.windowSummary(viaA, viaB))
	a.logf("teardown %s: %s; %d instances left by Orphan deletions in %v", time.Since(started).Round(time.Second), report, orphaned, left)
}

// lateAfterDeletion finds the late arrivals of deleted sets: instances whose create attempt
// reached the gateway in time, was forwarded past its deadline (held longer than every window),
// and that Talis made after the test had asked for the set's deletion. For a set deleted with
// deletionPolicy Delete they must be swept by the project (StrayInstances); for one deleted with
// Orphan they may stay, with the orphans (the orphan record goes with the TalisProject when that
// is Orphan-deleted too, and then its successor may sweep them). It returns the late instances
// of every deleted or orphaned set, live or not.
