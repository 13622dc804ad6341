package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// TestLeaderElection runs two managers with --leader-elect. Each has its own API key, so the
// recording proxy in front of Talis tells which process made each call. The follower makes
// none; the leader is SIGKILLed in the middle of a scale-up and the follower takes over once the
// lease expires; later the new leader is stopped (SIGTERM, lease released) in the middle of a
// scale-down and the first one, restarted, takes over at once. Talis's ledger then shows no
// instance created twice and none leaked, and the two processes never acted at the same time.
func TestLeaderElection(t *testing.T) {
	emu, proxy := harness.TalisBehindProxy(t, emulator.Config{Seed: 11, Delays: emulator.Delays{Pickup: 100 * time.Millisecond,
		Create: 400 * time.Millisecond, Ready: 200 * time.Millisecond, Terminate: 200 * time.Millisecond}})
	keyA, keyB := secretKey("a"), secretKey("b")
	emu.SetAPIKeys(keyA, keyB)
	ns, err := cp.NewNamespace(ctx, "leader")
	if err != nil {
		t.Fatal(err)
	}
	start := func(name, key string) *harness.Manager {
		file := filepath.Join(cp.Dir, "leader-"+name+".key")
		if err := os.WriteFile(file, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := harness.StartManager(harness.ManagerSpec{Bin: managerBin, Kubeconfig: cp.ManagerKubeconfig,
			Args: managerArgs(proxy.URL(), "--watch-namespaces", ns, "--leader-elect", "--leader-election-namespace", harness.ManagerNamespace, "--talis-api-key-file", file),
			Log:  filepath.Join(cp.Dir, "TestLeaderElection-"+name+".log")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Stop)
		return m
	}
	holder := func() string {
		var l coordinationv1.Lease
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: harness.ManagerNamespace, Name: "talis-operator.infra.talis.io"}, &l); err != nil {
			return ""
		}
		return ptr.Deref(l.Spec.HolderIdentity, "")
	}
	callsWith := func(key string, after time.Time) (n int, last time.Time) {
		for _, r := range proxy.Records() {
			if r.APIKey == key && r.Arrived.After(after) {
				n++
				last = r.Arrived
			}
		}
		return n, last
	}

	a := start("a", keyA)
	harness.Eventually(t, 60*time.Second, "a leader elected", func() error {
		if holder() == "" {
			return fmt.Errorf("no lease holder")
		}
		return nil
	})
	leaderA := holder()
	fleet := harness.Fleet{Active: map[harness.SetKey]int{}}
	var sets []*infrav1.TalisInstanceSet
	if err := cp.Client.Create(ctx, harness.Project(ns, "p")); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		s := harness.Set(ns, fmt.Sprintf("s%d", i), "p", 2)
		sets = append(sets, s)
		fleet.Active[harness.SetKey{Namespace: ns, Name: s.Name}] = 2
		if err := cp.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	converge := func(what string, n int) {
		t.Helper()
		for k := range fleet.Active {
			fleet.Active[k] = n
			harness.Eventually(t, 120*time.Second, what, func() error { return harness.SetReady(ctx, cp.Client, k, n) })
		}
		if err := harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), fleet).Err(); err != nil {
			t.Fatal(err)
		}
	}
	converge("ready under the first leader", 2)

	b := start("b", keyB)
	time.Sleep(3 * time.Second)
	if n, _ := callsWith(keyB, time.Time{}); n > 0 {
		t.Fatalf("the follower made %d Talis calls", n)
	}

	// Kill the leader in the middle of a scale-up: as soon as its first create call is seen.
	scaleAt := time.Now()
	scale := func(n int32) {
		for _, s := range sets {
			if err := harness.Patch(ctx, cp.Client, s, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	scale(6)
	harness.Eventually(t, 30*time.Second, "the leader starts creating", func() error {
		for _, r := range proxy.Records() {
			if r.Arrived.After(scaleAt) && len(r.Create) > 0 {
				return nil
			}
		}
		return fmt.Errorf("no create call yet")
	})
	a.Kill()
	killedAt := time.Now()
	harness.Eventually(t, 60*time.Second, "the follower takes the lease", func() error {
		if h := holder(); h == leaderA || h == "" {
			return fmt.Errorf("lease still held by %q", h)
		}
		return nil
	})
	t.Logf("leadership moved %s after SIGKILL", time.Since(killedAt).Round(100*time.Millisecond))
	converge("scale-up finished by the new leader", 6)
	if n, _ := callsWith(keyB, killedAt); n == 0 {
		t.Fatal("the new leader made no Talis call")
	}

	// Stop the new leader (SIGTERM) in the middle of a scale-down; the restarted first manager
	// takes over without waiting for the lease to expire.
	a.Start()
	time.Sleep(2 * time.Second)
	downAt := time.Now()
	scale(1)
	harness.Eventually(t, 30*time.Second, "the leader starts terminating", func() error {
		for _, r := range proxy.Records() {
			if r.Arrived.After(downAt) && r.Method == "DELETE" {
				return nil
			}
		}
		return fmt.Errorf("no terminate call yet")
	})
	b.Stop()
	stoppedAt := time.Now()
	converge("scale-down finished by the restarted manager", 1)
	_, lastB := callsWith(keyB, time.Time{})
	nA, _ := callsWith(keyA, stoppedAt)
	if nA == 0 {
		t.Fatal("the restarted manager made no Talis call")
	}
	for _, r := range proxy.Records() {
		if r.APIKey == keyA && r.Arrived.After(killedAt) && !r.Arrived.After(lastB) {
			t.Errorf("split brain: the first manager called Talis at %s while the second was still acting (until %s)",
				r.Arrived.Format(time.StampMilli), lastB.Format(time.StampMilli))
			break
		}
	}

	for _, s := range sets {
		if err := cp.Client.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		k := harness.SetKey{Namespace: ns, Name: s.Name}
		delete(fleet.Active, k)
		fleet.Deleted = append(fleet.Deleted, k)
	}
	for _, s := range sets {
		harness.Eventually(t, 90*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, s) })
	}
	p := harness.Project(ns, "p")
	if err := cp.Client.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 90*time.Second, "project deleted", func() error { return harness.Gone(ctx, cp.Client, p) })
	report := harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), fleet)
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("two leader changes (SIGKILL mid-scale-up, SIGTERM mid-scale-down): %s", report)
}
