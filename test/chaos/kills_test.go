package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

const (
	wantKills      = 60 // before the fleet is left to converge; more follow during the teardown
	killMin        = 300 * time.Millisecond
	killMax        = 4500 * time.Millisecond
	concurrentSets = 20
)

// killer SIGKILLs the manager at random moments and starts it again at once.
type killer struct {
	m          *harness.Manager
	max        time.Duration
	rng        *rand.Rand
	stop, done chan struct{}
	kills      atomic.Int64
	// exits counts processes found dead when it came to kill them: a crash of their own.
	exits atomic.Int64
	errs  chan error
}

func startKiller(m *harness.Manager, rng *rand.Rand, max time.Duration) *killer {
	k := &killer{m: m, rng: rng, max: max, stop: make(chan struct{}), done: make(chan struct{}), errs: make(chan error, 1)}
	go k.run()
	return k
}

func (k *killer) run() {
	defer close(k.done)
	for {
		select {
		case <-k.stop:
			return
		case <-time.After(killMin + time.Duration(k.rng.Int64N(int64(k.max-killMin)))):
		}
		if k.m.Kill() {
			k.kills.Add(1)
		} else {
			k.exits.Add(1)
		}
		time.Sleep(time.Duration(k.rng.Int64N(int64(300 * time.Millisecond))))
		if err := k.m.Start(); err != nil {
			select {
			case k.errs <- err:
			default:
			}
			return
		}
	}
}

func (k *killer) halt(t *testing.T) {
	t.Helper()
	close(k.stop)
	<-k.done
	select {
	case err := <-k.errs:
		t.Fatalf("restarting the manager: %v", err)
	default:
	}
}

type chaosFleet struct {
	mu      sync.Mutex
	sets    map[harness.SetKey]*infrav1.TalisInstanceSet
	deleted []harness.SetKey
	next    int
}

func (f *chaosFleet) expected() harness.Fleet {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := harness.Fleet{Active: map[harness.SetKey]int{}, Deleted: slices.Clone(f.deleted)}
	for k, s := range f.sets {
		out.Active[k] = int(*s.Spec.Replicas)
	}
	return out
}

func (f *chaosFleet) keys() []harness.SetKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []harness.SetKey
	for k := range f.sets {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b harness.SetKey) int {
		if a.String() < b.String() {
			return -1
		}
		return 1
	})
	return out
}

var sizes = []string{"s-1vcpu-1gb", "s-2vcpu-2gb", "s-2vcpu-4gb"}

// newSet makes the n-th set: strategies vary with n.
func newChaosSet(ns string, n int, replicas int32) *infrav1.TalisInstanceSet {
	s := harness.Set(ns, fmt.Sprintf("s%02d", n), "p", replicas)
	switch n % 3 {
	case 1:
		s.Spec.Strategy = infrav1.InstanceSetStrategy{Type: infrav1.RollingUpdateStrategy,
			RollingUpdate: &infrav1.RollingUpdate{MaxSurge: 2, MaxUnavailable: 1}}
	case 2:
		s.Spec.Strategy = infrav1.InstanceSetStrategy{Type: infrav1.RecreateStrategy}
	}
	return s
}

// TestRandomKills is the manager binary killed with SIGKILL at random moments, at least 50
// times, while 20 sets scale up and down, roll their template and are deleted and replaced by
// new ones; then it is left alone to converge, and everything is deleted under more kills.
// Talis's ledger and the create calls recorded on the wire must show: each set has exactly its
// desired instances, all on its current template and all in its status; every instance ever
// created is owned by a set or terminated; no create attempt was sent twice; nothing is live
// after the deletion and no finalizer is left.
func TestRandomKills(t *testing.T) {
	s := seed(t)
	ops, kills := newRand(s, 1), newRand(s, 2)
	emu, proxy := talisBehindProxy(t, s, emulator.Delays{Pickup: 50 * time.Millisecond, Create: 250 * time.Millisecond,
		Ready: 100 * time.Millisecond, Terminate: 150 * time.Millisecond})
	// Slow create and terminate calls widen the windows in which a kill leaves a call's outcome
	// unknown to the restarted manager.
	emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
		"POST /api/v1/instances":   {Latency: 300 * time.Millisecond, Jitter: 500 * time.Millisecond},
		"DELETE /api/v1/instances": {Latency: 200 * time.Millisecond, Jitter: 300 * time.Millisecond},
	}})
	var namespaces []string
	for range 4 {
		ns, err := cp.NewNamespace(ctx, "kills")
		if err != nil {
			t.Fatal(err)
		}
		namespaces = append(namespaces, ns)
		if err := cp.Client.Create(ctx, harness.Project(ns, "p")); err != nil {
			t.Fatal(err)
		}
	}
	m := startManager(t, harness.ManagerArgs(proxy.URL(), "--resync-period", "30s", "--watch-namespaces", strings.Join(namespaces, ",")))
	started := time.Now()
	fleet := &chaosFleet{sets: map[harness.SetKey]*infrav1.TalisInstanceSet{}}
	add := func() {
		fleet.mu.Lock()
		n := fleet.next
		fleet.next++
		fleet.mu.Unlock()
		set := newChaosSet(namespaces[n%len(namespaces)], n, 1+ops.Int32N(4))
		if err := cp.Client.Create(ctx, set); err != nil {
			t.Fatal(err)
		}
		fleet.mu.Lock()
		fleet.sets[harness.SetKey{Namespace: set.Namespace, Name: set.Name}] = set
		fleet.mu.Unlock()
	}
	for range concurrentSets {
		add()
	}

	k := startKiller(m, kills, killMax)
	var scales, rolls, replaced int
	for k.kills.Load() < wantKills {
		select {
		case err := <-k.errs:
			t.Fatalf("restarting the manager: %v", err)
		default:
		}
		if time.Since(started) > 10*time.Minute {
			t.Fatalf("only %d kills in 10 minutes", k.kills.Load())
		}
		time.Sleep(500*time.Millisecond + time.Duration(ops.Int64N(int64(800*time.Millisecond))))
		keys := fleet.keys()
		key := keys[ops.IntN(len(keys))]
		fleet.mu.Lock()
		set := fleet.sets[key]
		fleet.mu.Unlock()
		switch p := ops.IntN(10); {
		case p < 5:
			n := ops.Int32N(6)
			if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
				t.Fatal(err)
			}
			scales++
		case p < 8:
			if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) {
				s.Spec.Template.Size = sizes[(slices.Index(sizes, s.Spec.Template.Size)+1)%len(sizes)]
			}); err != nil {
				t.Fatal(err)
			}
			rolls++
		default:
			if err := cp.Client.Delete(ctx, set); err != nil {
				t.Fatal(err)
			}
			fleet.mu.Lock()
			delete(fleet.sets, key)
			fleet.deleted = append(fleet.deleted, key)
			fleet.mu.Unlock()
			add()
			replaced++
		}
	}
	k.halt(t)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	opsDone := time.Now()
	t.Logf("%d kills, %d scales, %d rolls, %d deletions+replacements in %s", k.kills.Load(), scales, rolls, replaced, opsDone.Sub(started).Round(time.Second))

	want := fleet.expected()
	for key, n := range want.Active {
		harness.Eventually(t, 5*time.Minute, key.String()+" converged", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
	}
	for _, key := range want.Deleted {
		obj := &infrav1.TalisInstanceSet{}
		obj.Namespace, obj.Name = key.Namespace, key.Name
		harness.Eventually(t, 2*time.Minute, key.String()+" deleted", func() error { return harness.Gone(ctx, cp.Client, obj) })
	}
	report := harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), want)
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("converged %s after the last kill: %s", time.Since(opsDone).Round(time.Second), report)

	// Delete everything, still killing.
	before := k.kills.Load()
	k = startKiller(m, kills, 1500*time.Millisecond) // kill more often: the teardown is short
	teardownStart := time.Now()
	for _, key := range fleet.keys() {
		fleet.mu.Lock()
		set := fleet.sets[key]
		delete(fleet.sets, key)
		fleet.deleted = append(fleet.deleted, key)
		fleet.mu.Unlock()
		if err := cp.Client.Delete(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range namespaces {
		if err := cp.Client.Delete(ctx, harness.Project(ns, "p")); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 5*time.Minute, "everything deleted", func() error { return leftIn(namespaces) })
	k.halt(t)
	total := before + k.kills.Load()
	unexpected := k.exits.Load()

	report = harness.CheckFleet(ctx, cp.Client, emu.Ledger(), proxy.Records(), fleet.expected())
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	if report.Live != 0 {
		t.Fatalf("%d instances live after everything was deleted", report.Live)
	}
	c, err := talis.NewClient(&talis.Options{BaseURL: emu.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if _, err := c.GetProject(ctx, talis.ProjectGetParams{Name: harness.ProjectName(ns, "p"), OwnerID: talis.AdminOwnerID}); !talis.IsNotFound(err) {
			t.Errorf("Talis project %s-p not deleted: %v", ns, err)
		}
	}
	if unexpected > 0 {
		t.Errorf("the manager exited %d time(s) without being killed", unexpected)
	}
	t.Logf("SURVIVED %d SIGKILLs (%d during the teardown), %d starts; teardown %s; %s", total, k.kills.Load(), m.Starts(),
		time.Since(teardownStart).Round(time.Second), report)
}

// leftIn says which Talis objects still exist in the namespaces.
func leftIn(namespaces []string) error {
	var left []string
	for _, ns := range namespaces {
		l, err := harness.StuckFinalizers(ctx, cp.Client, ns)
		if err != nil {
			return err
		}
		left = append(left, l...)
	}
	if len(left) > 0 {
		return fmt.Errorf("%d object(s) left: %v", len(left), left)
	}
	return nil
}
