package reliability

import (
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// TestCreateJudgedByTheSendersWindow has one manager send a create and die, and a manager with
// a much shorter --talis-timeout judge it (a restart with other flags, a leader handover during
// an upgrade). The create is applied by Talis after the second manager's own window has closed
// but within the first one's deadline. The second manager must hold to the window the first
// recorded in the intent (status.pendingCreate.landBy) and never send a second batch: Talis's
// ledger shows exactly the set's replicas ever created.
func TestCreateJudgedByTheSendersWindow(t *testing.T) {
	emu, proxy := harness.TalisBehindProxy(t, emulator.Config{Seed: 25, Delays: emulator.Delays{Pickup: 50 * time.Millisecond,
		Create: 150 * time.Millisecond, Ready: 50 * time.Millisecond, Terminate: 100 * time.Millisecond}})
	ns, err := cp.NewNamespace(ctx, "handover")
	if err != nil {
		t.Fatal(err)
	}
	// A: deadline 30 s after the intent, instances until 45 s after it. B: its own window closes
	// 2 + 15 s after the intent (plus --max-clock-skew 2s and a second of precision). The create
	// is held 24 s: past B's own window, well within A's deadline.
	const held = 24 * time.Second
	a := startManager(t, managerArgs(proxy.URL(), "--watch-namespaces", ns, "--talis-timeout", "30s"))
	proxy.HoldCreates(1, held, held, 25)
	set := harness.Set(ns, "web", "p", 2)
	for _, o := range []client.Object{harness.Project(ns, "p"), set} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	key := harness.SetKey{Namespace: ns, Name: "web"}
	harness.Eventually(t, 60*time.Second, "the first manager sends its create", func() error {
		if proxy.CreatesInFlight() == 0 {
			return fmt.Errorf("no create call yet")
		}
		return nil
	})
	a.Kill()
	sentAt := time.Now()
	proxy.HoldCreates(0, 0, 0, 0) // only A's create is held

	var s infrav1.TalisInstanceSet
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(set), &s); err != nil {
		t.Fatal(err)
	}
	pc := s.Status.PendingCreate
	if pc == nil || pc.LandBy == nil || pc.SendBy == nil {
		t.Fatalf("the intent does not record its sender's window: %+v", pc)
	}
	if got := pc.LandBy.Sub(pc.RequestedAt.Time); got != 45*time.Second {
		t.Fatalf("landBy is %s after requestedAt, want 45s (--talis-timeout 30s + 15s)", got)
	}
	startManager(t, managerArgs(proxy.URL(), "--watch-namespaces", ns, "--talis-timeout", "2s"))

	harness.Eventually(t, 60*time.Second, "the held create forwarded", func() error {
		if n := proxy.CreatesInFlight(); n > 0 {
			return fmt.Errorf("%d create calls in flight", n)
		}
		return nil
	})
	harness.Eventually(t, 60*time.Second, "2 ready", func() error { return harness.SetReady(ctx, cp.Client, key, 2) })
	if d := time.Since(sentAt); d < held-time.Second {
		t.Fatalf("converged %s after the create was sent, before it was forwarded", d)
	}
	want := harness.Fleet{Active: map[harness.SetKey]int{key: 2}}
	report := harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), want)
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	sl := harness.LedgerByIdentity(emu.Ledger())[key.Identity()]
	if sl == nil || len(sl.All) != 2 || len(sl.ByAttempt) != 1 {
		var attempts []int64
		if sl != nil {
			for at := range sl.ByAttempt {
				attempts = append(attempts, at)
			}
		}
		t.Fatalf("Talis created instances of attempts %v for 2 replicas: %s", attempts, report)
	}
	t.Logf("create of a manager with a 30s timeout judged by one with 2s: %s", report)
}
