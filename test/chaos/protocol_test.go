package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// churn drives the sets through scales and rolls for d, calling between each operation.
func churn(t *testing.T, rng *rand.Rand, sets []*infrav1.TalisInstanceSet, want harness.Fleet, d time.Duration, between func()) (scales, rolls int) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(400*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond))))
		set := sets[rng.IntN(len(sets))]
		key := harness.SetKey{Namespace: set.Namespace, Name: set.Name}
		if rng.IntN(3) < 2 {
			n := 1 + rng.Int32N(4)
			if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
				t.Fatal(err)
			}
			want.Active[key] = int(n)
			scales++
		} else {
			if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) {
				s.Spec.Template.Size = sizes[(slices.Index(sizes, s.Spec.Template.Size)+1)%len(sizes)]
			}); err != nil {
				t.Fatal(err)
			}
			rolls++
		}
		if between != nil {
			between()
		}
	}
	return scales, rolls
}

func protocolSets(t *testing.T, ns string, n int) ([]*infrav1.TalisInstanceSet, harness.Fleet) {
	t.Helper()
	if err := cp.Client.Create(ctx, harness.Project(ns, "p")); err != nil {
		t.Fatal(err)
	}
	want := harness.Fleet{Active: map[harness.SetKey]int{}}
	var sets []*infrav1.TalisInstanceSet
	for i := range n {
		s := newChaosSet(ns, i, 2)
		if err := cp.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
		want.Active[harness.SetKey{Namespace: ns, Name: s.Name}] = 2
	}
	return sets, want
}

// converged waits for every set and checks the fleet against the ledger and the wire log.
func converged(t *testing.T, emu *emulator.Server, proxy *harness.Proxy, want harness.Fleet) harness.FleetReport {
	t.Helper()
	harness.Eventually(t, time.Minute, "held creates forwarded", func() error {
		if n := proxy.CreatesInFlight(); n > 0 {
			return fmt.Errorf("%d create calls in flight", n)
		}
		return nil
	})
	for key, n := range want.Active {
		harness.Eventually(t, 4*time.Minute, key.String()+" converged", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
	}
	// A create that reached Talis after its set turned Ready is absorbed within the drift
	// interval (30 s by default) plus a reconcile.
	var report harness.FleetReport
	harness.Eventually(t, time.Minute, "Talis and status agree", func() error {
		report = harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), want)
		return report.Err()
	})
	return report
}

// deleteAll deletes the sets and requires, from the ledger, that nothing is left live.
func deleteAll(t *testing.T, emu *emulator.Server, proxy *harness.Proxy, sets []*infrav1.TalisInstanceSet, want harness.Fleet) harness.FleetReport {
	t.Helper()
	for _, s := range sets {
		if err := cp.Client.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		k := harness.SetKey{Namespace: s.Namespace, Name: s.Name}
		delete(want.Active, k)
		want.Deleted = append(want.Deleted, k)
	}
	for _, s := range sets {
		harness.Eventually(t, 4*time.Minute, s.Name+" deleted", func() error { return harness.Gone(ctx, cp.Client, s) })
	}
	report := harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), want)
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	if report.Live != 0 {
		t.Fatalf("%d instances live after every set was deleted", report.Live)
	}
	return report
}

// TestHeldCreatesAndSlowTerminates has a gateway that sits on create calls (some past their
// deadline, some past the whole ambiguity window, so that Talis applies them after the
// operator has declared them not applied) and terminates that are slow or fail, while sets
// scale and roll. From the ledger and the wire log: no create sent after its deadline, none
// that reached Talis in time given up on, late arrivals absorbed (live == desired), no leak.
func TestHeldCreatesAndSlowTerminates(t *testing.T) {
	s := seed(t)
	emu, proxy := talisBehindProxy(t, s, emulator.Delays{Pickup: 50 * time.Millisecond, Create: 200 * time.Millisecond,
		Ready: 100 * time.Millisecond, Terminate: 150 * time.Millisecond})
	// --talis-timeout 3s: deadline 3 s after the intent, window closed 21 s after it (18 s plus
	// --max-clock-skew 2s and a second of precision).
	proxy.HoldCreates(0.35, time.Second, 24*time.Second, s)
	emu.SetFaults(emulator.Faults{TerminateFailRate: 0.2, Routes: map[string]emulator.RouteFault{
		"DELETE /api/v1/instances": {Latency: 2 * time.Second, Jitter: 4 * time.Second},
	}})
	ns, err := cp.NewNamespace(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, harness.ManagerArgs(proxy.URL(), "--watch-namespaces", ns, "--terminate-settle", "5s"))
	sets, want := protocolSets(t, ns, 8)
	scales, rolls := churn(t, newRand(s, 1), sets, want, 75*time.Second, nil)
	proxy.HoldCreates(0, 0, 0, s)
	emu.SetFaults(emulator.Faults{})
	report := converged(t, emu, proxy, want)
	if report.Protocol.HeldLate == 0 {
		t.Fatal("no create was held past its deadline: the test did not test late arrivals")
	}
	t.Logf("%d scales, %d rolls under held creates and slow terminates: %s", scales, rolls, report)
	report = deleteAll(t, emu, proxy, sets, want)
	t.Logf("PROTOCOL held creates: %s", report)
}

// TestPausedLeader pauses the leader (SIGSTOP) while creates queue behind a tight rate limit,
// longer than its lease, so that the other manager takes over and decides; the paused one is
// then resumed and acts on what it had decided before. Its late creates must never reach Talis.
func TestPausedLeader(t *testing.T) {
	s := seed(t)
	emu, proxy := talisBehindProxy(t, s, emulator.Delays{Pickup: 50 * time.Millisecond, Create: 300 * time.Millisecond,
		Ready: 100 * time.Millisecond, Terminate: 150 * time.Millisecond})
	emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
		"POST /api/v1/instances": {Latency: 200 * time.Millisecond, Jitter: 400 * time.Millisecond},
	}})
	ns, err := cp.NewNamespace(ctx, "paused")
	if err != nil {
		t.Fatal(err)
	}
	args := harness.ManagerArgs(proxy.URL(), "--watch-namespaces", ns, "--leader-elect",
		"--leader-election-namespace", harness.ManagerNamespace, "--talis-rate-limit", "3")
	managers := []*harness.Manager{startManager(t, args), startManager(t, args)}
	sets, want := protocolSets(t, ns, 6)
	rng := newRand(s, 3)
	pauses := 0
	var last time.Time
	scales, rolls := churn(t, newRand(s, 4), sets, want, 120*time.Second, func() {
		for _, m := range managers {
			if !m.Running() {
				if err := m.Start(); err != nil { // a resumed leader exits once it sees it lost the lease
					t.Fatal(err)
				}
			}
		}
		if time.Since(last) < 25*time.Second {
			return
		}
		last = time.Now()
		m := managers[rng.IntN(len(managers))]
		if !m.Pause() {
			return
		}
		pauses++
		go func() {
			time.Sleep(20 * time.Second) // past the 15 s lease: the other manager takes over
			m.Resume()
		}()
	})
	time.Sleep(21 * time.Second)
	for _, m := range managers {
		m.Resume()
		if !m.Running() {
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pauses == 0 {
		t.Fatal("no manager was paused")
	}
	report := converged(t, emu, proxy, want)
	evs, err := harness.Events(ctx, cp.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	notSent := 0
	for _, e := range evs {
		if e.Reason == "CreateNotSent" {
			notSent++
		}
	}
	t.Logf("%d pauses of 20 s, %d scales, %d rolls, %d creates refused past their deadline: %s", pauses, scales, rolls, notSent, report)
	report = deleteAll(t, emu, proxy, sets, want)
	t.Logf("PROTOCOL paused leader: %s", report)
}
