package gitops

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

// The set-up docs/gitops.md recommends for an autoscaler under Argo CD holds: with ignoreDifferences
// on /spec/replicas and RespectIgnoreDifferences=true, a value set through the scale subresource under
// another field manager (as the HPA controller writes it) is not drift, survives a sync of a commit
// that changes replicas in git, and Talis never loses an instance. Without it (the control, also
// automated with self-heal) Argo CD sets git's value back and an instance the autoscaler asked for is
// terminated.
func TestArgoAutoscaledReplicasSurviveSyncs(t *testing.T) {
	t.Parallel()
	a := newArgoEnv(t, "argo-replicas")
	// A commit changes the set's label with its replicas, so that Argo CD has a difference to sync
	// (replicas alone, ignored, would make it Synced without a sync).
	tree := func(replicas int32) map[string][]client.Object {
		ignored := harness.Set(a.ns, "ignored", "p", replicas)
		metav1.SetMetaDataLabel(&ignored.ObjectMeta, "git-replicas", strconv.Itoa(int(replicas)))
		return map[string][]client.Object{
			"fleet":   {harness.Project(a.ns, "p"), ignored},
			"control": {harness.Set(a.ns, "control", "p", 2)},
		}
	}
	rev := a.pushDirs(tree(2))
	// As docs/gitops.md prints it.
	a.application("fleet", "fleet", false, map[string]any{
		"ignoreDifferences": []any{map[string]any{"group": "infra.talis.io", "kind": "TalisInstanceSet",
			"jsonPointers": []any{"/spec/replicas"}}},
		"syncPolicy": map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true},
			"syncOptions": []any{"RespectIgnoreDifferences=true"}},
	})
	a.application("control", "control", false, nil)
	a.convergedAt("fleet", rev, "ignored", 2)
	a.convergedAt("control", rev, "control", 2)

	for _, name := range []string{"ignored", "control"} {
		a.scale(name, 3)
	}
	a.setReady("ignored", 3)
	since := time.Now()
	a.refresh("fleet", false)
	if v := a.comparedAfter("fleet", since); !v.syncedAt(rev) || v.resource("TalisInstanceSet", "ignored") == nil || v.resource("TalisInstanceSet", "ignored").Status != "Synced" {
		t.Errorf("the autoscaled set shows as drift: %s", v)
	}

	// A commit that changes replicas in git to 4, synced automatically, then a hard refresh.
	rev = a.pushDirs(tree(4))
	a.refresh("fleet", false)
	a.healthyAt("fleet", rev)
	a.refresh("fleet", true)
	time.Sleep(5 * time.Second)
	v := a.healthyAt("fleet", rev)
	if got := *a.set("ignored").Spec.Replicas; got != 3 {
		t.Errorf("Argo CD set spec.replicas to %d, the autoscaler's 3 is lost: %s", got, v)
	}
	a.setReady("ignored", 3)
	if got := a.set("ignored").Labels["git-replicas"]; got != "4" {
		t.Errorf("the commit was not applied: label %q", got)
	}
	if all := harness.LedgerByIdentity(a.emu.Ledger())[harness.SetIdentity(a.ns, "ignored")].All; len(all) != 3 {
		t.Errorf("Talis created %d instances for a fleet scaled once to 3 (some were terminated and made again)", len(all))
	}
	if v.OperationState == nil || v.OperationState.SyncResult == nil || v.OperationState.SyncResult.Revision != rev {
		t.Errorf("Argo CD did not sync the commit that changed replicas in git: %s", v)
	}

	// The control: replicas in git, no rule. Self-heal takes the field back.
	harness.Eventually(t, 60*time.Second, "the control set back to git's 2", func() error {
		if got := *a.set("control").Spec.Replicas; got != 2 {
			return fmt.Errorf("spec.replicas %d", got)
		}
		return nil
	})
	a.setReady("control", 2)
	a.healthyAt("control", rev)
	t.Logf("control: Talis terminated %d instance(s) the autoscaler had asked for",
		len(harness.LedgerByIdentity(a.emu.Ledger())[harness.SetIdentity(a.ns, "control")].All)-2)
}
