package reliability

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/test/harness"
)

// An Orphan deletion leaves a Talis project with live instances. A TalisProject of the same name
// re-created before its Secret exists records that project's name; a spec.projectName set next
// must not delete it: Talis's project delete leaves the instances running where no terminate by
// project name reaches them. Read on Talis's side: the project and its instances are still there.
func TestRenameNeverDeletesAProjectWithLiveInstances(t *testing.T) {
	emu, url := fastTalis(t)
	ns, err := cp.NewNamespace(ctx, "rename-live")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	secret := func() *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "tenant-key"}}
	}
	project := func() *infrav1.TalisProject {
		p := harness.Project(ns, "p")
		p.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "apiKey"}}
		return p
	}
	set := harness.Set(ns, "web", "p", 2)
	set.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
	for _, o := range []client.Object{secret(), project(), set} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	key := harness.SetKey{Namespace: ns, Name: "web"}
	harness.Eventually(t, 60*time.Second, "2 ready", func() error { return harness.SetReady(ctx, cp.Client, key, 2) })
	live := harness.LedgerByIdentity(emu.Ledger())[key.Identity()].LiveIDs()

	// Orphan everything, then lose the Secret.
	for _, o := range []client.Object{set, project()} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 60*time.Second, "orphaned", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
	if err := cp.Client.Delete(ctx, secret()); err != nil {
		t.Fatal(err)
	}

	// Re-created before its Secret: it records the old name and waits for credentials.
	again := project()
	if err := cp.Client.Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	oldName := harness.ProjectName(ns, "p")
	harness.Eventually(t, 30*time.Second, "the old name recorded", func() error {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(again), again); err != nil {
			return err
		}
		if again.Status.ProjectName != oldName {
			return fmt.Errorf("status.projectName %q", again.Status.ProjectName)
		}
		return nil
	})
	if err := harness.Patch(ctx, cp.Client, again, func(p *infrav1.TalisProject) { p.Spec.ProjectName = "renamed-" + ns }); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Create(ctx, secret()); err != nil {
		t.Fatal(err)
	}

	stopped := harness.Wait(30*time.Second, 250*time.Millisecond, func() error {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(again), again); err != nil {
			return err
		}
		c := meta.FindStatusCondition(again.Status.Conditions, infrav1.ConditionStalled)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != infrav1.ReasonProjectHasLiveInstances {
			return fmt.Errorf("Stalled: %+v", c)
		}
		return nil
	})
	if stopped != nil {
		t.Errorf("the rename did not stop at the live instances: %v", stopped)
	}
	tc, err := talis.NewClient(&talis.Options{BaseURL: url, APIKey: "tenant-key"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.GetProject(ctx, talis.ProjectGetParams{Name: oldName, OwnerID: talis.AdminOwnerID}); err != nil {
		t.Errorf("the Talis project with live instances %v was deleted by the rename: %v", live, err)
	}
	if now := harness.LedgerByIdentity(emu.Ledger())[key.Identity()].LiveIDs(); len(now) != len(live) {
		t.Errorf("live instances %v, want %v still running and reachable", now, live)
	}
}
