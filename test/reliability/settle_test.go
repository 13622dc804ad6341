package reliability

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/test/harness"
)

// Issue 25 point 3: a create that Talis accepted and whose worker is still running can bring back
// an instance terminated meanwhile. The set used to stop watching such an instance when
// --terminate-settle ran out, and its deletion completed; the create then landed and the
// instance lived on with no owner. The watch now ends only when Talis shows the create task
// finished, so the set is gone only once its instance can no longer come back.
func TestSettleOutlastsARunningCreate(t *testing.T) {
	emu, url := fastTalis(t)
	slow := emu.Delays()
	slow.Create = 15 * time.Second // the create task runs this long after Talis accepted it
	emu.SetDelays(slow)
	startManager(t, managerArgs(url, "--terminate-settle", "2s"))

	ns, err := cp.NewNamespace(ctx, "settle")
	if err != nil {
		t.Fatal(err)
	}
	set := harness.Set(ns, "web", "p", 1)
	set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: 2 * time.Second}
	for _, o := range []client.Object{harness.Project(ns, "p"), set} {
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
	// Past its provisioning timeout the instance is terminated while its create still runs.
	harness.Eventually(t, 120*time.Second, "the set deleted", func() error { return harness.Gone(ctx, cp.Client, set) })

	// Wait until every create of the set has finished in Talis: nothing can change after that.
	c, err := talis.NewClient(&talis.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "the set's creates finished in Talis", func() error {
		for _, e := range harness.LedgerByIdentity(emu.Ledger())[identity].All {
			tasks, err := c.ListTasksByInstanceID(ctx, talis.AdminOwnerID, uint(e.ID), string(talis.TaskActionCreateInstances), &talis.ListOptions{Limit: 1})
			if err != nil {
				return err
			}
			if len(tasks) == 0 || (tasks[0].Status != talis.TaskStatusCompleted && tasks[0].Status != talis.TaskStatusFailed) {
				return fmt.Errorf("instance %d: create task still running", e.ID)
			}
		}
		return nil
	})
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) > 0 {
		t.Fatalf("the set was deleted while its create was still running; instance(s) %v live in Talis with no owner", live)
	}
}
