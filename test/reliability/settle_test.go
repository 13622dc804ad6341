package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// Issue 25 point 3: a create that Talis accepted and whose worker is still running can bring back
// an instance terminated meanwhile. The set used to stop watching such an instance when
// --terminate-settle ran out, and its deletion completed; the create then landed and the
// instance lived on with no owner. These tests delete a set whose only instance is terminated
// (past a 2 s provisioningTimeout, --terminate-settle 2s) while Talis's worker still runs its
// create, and read Talis's side: what its worker did after the set was gone.

// settleSet creates a project and a set of one instance with a 2 s provisioningTimeout, waits
// until Talis has the instance, and deletes the set. It returns the set and its identity.
func settleSet(t *testing.T, emu *emulator.Server, ns string, owner *int64) (*infrav1.TalisInstanceSet, string) {
	t.Helper()
	p := harness.Project(ns, "p")
	p.Spec.OwnerID = owner
	set := harness.Set(ns, "web", "p", 1)
	set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: 2 * time.Second}
	for _, o := range []client.Object{p, set} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	identity := harness.SetIdentity(ns, "web")
	harness.Eventually(t, 60*time.Second, "the set's instance in Talis", func() error {
		if sl := harness.LedgerByIdentity(emu.Ledger())[identity]; sl == nil || len(sl.All) == 0 {
			return fmt.Errorf("no instance yet")
		}
		return nil
	})
	if err := cp.Client.Delete(ctx, set); err != nil {
		t.Fatal(err)
	}
	return set, identity
}

// deletingSays waits until the deleting set's Ready condition says all of want; it gives up at
// once if the set is gone.
func deletingSays(set *infrav1.TalisInstanceSet, timeout time.Duration, want ...string) error {
	var gone error
	err := harness.Wait(timeout, 250*time.Millisecond, func() error {
		var s infrav1.TalisInstanceSet
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(set), &s); err != nil {
			if apierrors.IsNotFound(err) {
				gone = fmt.Errorf("the set was deleted before its Deleting condition said %q", want)
				return nil
			}
			return err
		}
		c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
		if c == nil || c.Reason != infrav1.ReasonDeleting {
			return fmt.Errorf("Ready: %+v", c)
		}
		for _, w := range want {
			if !strings.Contains(c.Message, w) {
				return fmt.Errorf("%q lacks %q", c.Message, w)
			}
		}
		return nil
	})
	if gone != nil {
		return gone
	}
	return err
}

// createTasks reads the create tasks of every instance Talis holds for the set.
func createTasks(t *testing.T, emu *emulator.Server, url, identity string) map[uint64]*talis.Task {
	t.Helper()
	c, err := talis.NewClient(&talis.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]*talis.Task{}
	for _, e := range harness.LedgerByIdentity(emu.Ledger())[identity].All {
		tasks, err := c.ListTasksByInstanceID(ctx, talis.AdminOwnerID, uint(e.ID), string(talis.TaskActionCreateInstances), &talis.ListOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != 1 {
			t.Fatalf("instance %d: %d create tasks", e.ID, len(tasks))
		}
		out[e.ID] = tasks[0]
	}
	return out
}

// noLeak waits until every create of the set has finished in Talis (nothing can change after
// that) and fails if any of its instances is live there.
func noLeak(t *testing.T, emu *emulator.Server, url, identity string) {
	t.Helper()
	harness.Eventually(t, 90*time.Second, "the set's creates finished in Talis", func() error {
		for id, task := range createTasks(t, emu, url, identity) {
			if task.Status != talis.TaskStatusCompleted && task.Status != talis.TaskStatusFailed {
				return fmt.Errorf("instance %d: create task %s", id, task.Status)
			}
		}
		return nil
	})
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) > 0 {
		t.Fatalf("the set was deleted while its create was still running; instance(s) %v live in Talis with no owner", live)
	}
}

// With tasks visible (owner 4294967295) the watch lasts until Talis shows the create task done,
// however long that takes: the 40 s create outlasts the provisioning timeout, --terminate-settle
// and the create window (the bound used when tasks are hidden), and the set is gone only after it.
func TestSettleOutlastsARunningCreate(t *testing.T) {
	emu, url := fastTalis(t)
	slow := emu.Delays()
	slow.Create = 40 * time.Second // the create task runs this long after Talis accepted it
	emu.SetDelays(slow)
	startManager(t, managerArgs(url, "--terminate-settle", "2s"))
	ns, err := cp.NewNamespace(ctx, "settle")
	if err != nil {
		t.Fatal(err)
	}
	set, identity := settleSet(t, emu, ns, nil)

	// Past its provisioning timeout the instance is terminated while its create still runs; the
	// set says it waits for that create, under the lock of the worker running it.
	said := deletingSays(set, 30*time.Second, "create task still running, its worker holds it until")
	harness.Eventually(t, 120*time.Second, "the set deleted", func() error { return harness.Gone(ctx, cp.Client, set) })
	for id, task := range createTasks(t, emu, url, identity) {
		if task.Status == talis.TaskStatusRunning || task.Status == talis.TaskStatusPending {
			t.Errorf("the set was deleted while the create task of instance %d was %s", id, task.Status)
		}
	}
	noLeak(t, emu, url, identity)
	if said != nil {
		t.Error(said)
	}
}

// For an owner whose tasks Talis hides, the watch lasts until the create could have finished:
// the provisioning timeout plus the create window (18 s with --talis-timeout 3s, plus the 2 s
// clock skew) after the instance was first seen, here past the 15 s create; the condition says so.
func TestSettleWaitsForAHiddenCreate(t *testing.T) {
	emu, url := fastTalis(t)
	slow := emu.Delays()
	slow.Create = 15 * time.Second
	emu.SetDelays(slow)
	startManager(t, managerArgs(url, "--terminate-settle", "2s"))
	ns, err := cp.NewNamespace(ctx, "settle-hidden")
	if err != nil {
		t.Fatal(err)
	}
	set, identity := settleSet(t, emu, ns, ptr.To[int64](7))

	said := deletingSays(set, 30*time.Second, "Talis shows tasks only to owner 4294967295, not to owner 7, so the end of a create cannot be seen",
		"the provisioning timeout plus the create window (22s) after the instance was first seen, and at least --terminate-settle (2s)")
	harness.Eventually(t, 120*time.Second, "the set deleted", func() error { return harness.Gone(ctx, cp.Client, set) })
	// The tasks of owner 7 are hidden from any reader: wait out the create's run in Talis.
	for _, e := range harness.LedgerByIdentity(emu.Ledger())[identity].All {
		time.Sleep(time.Until(e.CreatedAt.Add(slow.Create + 3*time.Second)))
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) > 0 {
		t.Fatalf("the set was deleted while its create was still running; instance(s) %v live in Talis with no owner", live)
	}
	if said != nil {
		t.Error(said)
	}
}

// A create task that never finishes (a provider call that never returns) holds the set only
// until the lock of the worker running it expires: past it, Talis gives the task to another
// worker, which finds the instance terminated. Not sooner, and not for ever.
func TestSettleEndsWhenTheWorkerLockExpires(t *testing.T) {
	const lock = 20 * time.Second
	emu := emulator.New(emulator.Config{Seed: 7, LockDuration: lock, Faults: emulator.Faults{NeverReadyRate: 1},
		Delays: emulator.Delays{Pickup: 50 * time.Millisecond, Create: 150 * time.Millisecond, Ready: 50 * time.Millisecond,
			Provision: 100 * time.Millisecond, Terminate: 100 * time.Millisecond}})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	startManager(t, managerArgs(url, "--terminate-settle", "2s"))
	ns, err := cp.NewNamespace(ctx, "settle-lock")
	if err != nil {
		t.Fatal(err)
	}
	set, identity := settleSet(t, emu, ns, nil)
	said := deletingSays(set, 30*time.Second, "create task still running, its worker holds it until")

	var expiry time.Time
	for id, task := range createTasks(t, emu, url, identity) {
		if task.Status != talis.TaskStatusRunning || task.LockExpiry == nil {
			t.Fatalf("instance %d: create task %s, lock until %v: the fault did not freeze it", id, task.Status, task.LockExpiry)
		}
		if task.LockExpiry.After(expiry) {
			expiry = *task.LockExpiry
		}
	}
	harness.Eventually(t, lock+60*time.Second, "the set deleted", func() error { return harness.Gone(ctx, cp.Client, set) })
	if gone := time.Now(); gone.Before(expiry) {
		t.Fatalf("the set was deleted at %s, before the lock of the worker running its create expired (%s)",
			gone.Format(time.RFC3339Nano), expiry.Format(time.RFC3339Nano))
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) > 0 {
		t.Fatalf("instance(s) %v live in Talis after the set was deleted", live)
	}
	if said != nil {
		t.Error(said)
	}
}
