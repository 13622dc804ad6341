package reliability

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// TestNoProvisioningTimeoutWithoutAFreshObservation: while Talis cannot be listed (here every
// list fails; in the chaos suite, long 429 bursts), a user's edit is still acted on with the last
// snapshot. An instance created after that snapshot has never been observed, so the operator
// does not know whether it is ready: it must not declare it "not ready within
// provisioningTimeout" and terminate it. (Found by the 429 stage of test/chaos: healthy
// instances were replaced.)
func TestNoProvisioningTimeoutWithoutAFreshObservation(t *testing.T) {
	emu, url := fastTalis(t)
	ns, err := cp.NewNamespace(ctx, "stale")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	set := harness.Set(ns, "web", "p", 1)
	set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: 2 * time.Second}
	for _, o := range []client.Object{harness.Project(ns, "p"), set} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	key := harness.SetKey{Namespace: ns, Name: "web"}
	harness.Eventually(t, 60*time.Second, "1 ready", func() error { return harness.SetReady(ctx, cp.Client, key, 1) })
	scale := func(n int32) {
		if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
			t.Fatal(err)
		}
	}

	emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{"GET /api/v1/instances": {ErrorRate: 1}}})
	scale(2)
	var second emulator.LedgerEntry
	harness.Eventually(t, 60*time.Second, "the second instance created and ready in Talis", func() error {
		sl := harness.LedgerByIdentity(emu.Ledger())[key.Identity()]
		if sl == nil || len(sl.Live) != 2 || sl.Live[1].Status != "ready" {
			return fmt.Errorf("ledger: %+v", sl)
		}
		second = sl.Live[1]
		return nil
	})
	time.Sleep(3 * time.Second) // past the 2s provisioningTimeout, still without a list
	scale(3)
	time.Sleep(4 * time.Second)
	var got infrav1.TalisInstanceSet
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(set), &got); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, infrav1.ConditionDegraded); c != nil && c.Reason == infrav1.ReasonProvisioningTimeout {
		t.Errorf("Degraded says %q, but the instance was never observed after it was created", c.Message)
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[key.Identity()].LiveIDs(); !slices.Contains(live, int64(second.ID)) {
		t.Errorf("ready instance %d was terminated as not ready within the provisioning timeout (live: %v)", second.ID, live)
	}

	emu.SetFaults(emulator.Faults{})
	harness.Eventually(t, 60*time.Second, "3 ready once Talis can be listed", func() error { return harness.SetReady(ctx, cp.Client, key, 3) })
	if err := cp.Client.Delete(ctx, set); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, set) })
	if err := cp.Client.Delete(ctx, harness.Project(ns, "p")); err != nil {
		t.Fatal(err)
	}
}
