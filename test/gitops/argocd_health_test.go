package gitops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// convergedAt follows Application name every 100 ms until Argo CD says it is Synced to rev and
// Healthy, and requires that by then set is Ready with n instances and Talis runs exactly n: the
// Application is read first, so a set found not ready after it was seen Healthy is Argo CD (our Lua
// check) calling it healthy too early. It returns how many times the Application was seen Synced to
// rev and Progressing with the set Progressing (a check that saw none proves nothing).
func (a *argoEnv) convergedAt(name, rev, set string, n int) int {
	a.t.Helper()
	key := harness.SetKey{Namespace: a.ns, Name: set}
	progressing := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, err := a.app(name)
		if err != nil {
			a.t.Fatal(err)
		}
		setErr := harness.SetReady(ctx, cp.Client, key, n)
		if v.syncedAt(rev) && v.Health.Status == "Healthy" {
			if setErr != nil {
				a.t.Fatalf("Argo CD says %.7s is synced and healthy (%s) but %v", rev, v, setErr)
			}
			if live := a.live(set); len(live) != n {
				a.t.Fatalf("Argo CD says %.7s is synced and healthy but Talis runs %d instances of %s: %v", rev, len(live), set, live)
			}
			return progressing
		}
		if r := v.resource("TalisInstanceSet", set); v.syncedAt(rev) && v.Health.Status == "Progressing" && r != nil && r.Health.Status == "Progressing" {
			progressing++
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("Argo CD never said %.7s is synced and healthy: %s; set: %v", rev, v, setErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An Application syncs a project and a set from git: Synced, Progressing until the set is Ready
// with every instance running in Talis, then Healthy; a commit that scales 3 → 5 is synced and
// Healthy once Talis runs 5.
func TestArgoSyncsAndWaitsForTheFleet(t *testing.T) {
	t.Parallel()
	a := newArgoEnv(t, "argo-sync")
	set := harness.Set(a.ns, "web", "p", 3)
	rev := a.push(harness.Project(a.ns, "p"), set)
	a.application("fleet", "", false, nil)
	if n := a.convergedAt("fleet", rev, "web", 3); n == 0 {
		t.Errorf("Argo CD was never seen calling the set being created Progressing")
	}
	v, _ := a.app("fleet")
	if r := v.resource("TalisProject", "p"); r == nil || r.Health.Status != "Healthy" || r.Status != "Synced" {
		t.Errorf("the project is not Synced and Healthy: %s", v)
	}

	set.Spec.Replicas = ptr.To[int32](5)
	rev = a.push(harness.Project(a.ns, "p"), set)
	a.refresh("fleet", false)
	if n := a.convergedAt("fleet", rev, "web", 5); n == 0 {
		t.Errorf("Argo CD was never seen calling the scale-up Progressing")
	}
	if all := harness.LedgerByIdentity(a.emu.Ledger())[harness.SetIdentity(a.ns, "web")].All; len(all) != 5 {
		t.Errorf("Talis created %d instances for 3 then 5", len(all))
	}
}

// Once converged, the Application stays Synced and Healthy through Argo CD's periodic comparisons and
// a hard refresh: what the operator writes (status, its finalizer) is not drift, and no sync runs
// again.
func TestArgoNoDriftAfterConvergence(t *testing.T) {
	t.Parallel()
	a := newArgoEnv(t, "argo-drift")
	rev := a.push(harness.Project(a.ns, "p"), harness.Set(a.ns, "web", "p", 2))
	a.application("fleet", "", false, nil)
	a.convergedAt("fleet", rev, "web", 2)
	first, _ := a.app("fleet")
	if first.OperationState == nil {
		t.Fatalf("no sync operation recorded: %s", first)
	}
	// Three of the controller's 10 s comparisons, a hard refresh in the middle.
	end := time.Now().Add(32 * time.Second)
	compared := map[string]bool{}
	for hard := false; time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if !hard && time.Until(end) < 16*time.Second {
			a.refresh("fleet", true)
			hard = true
		}
		v, err := a.app("fleet")
		if err != nil {
			t.Fatal(err)
		}
		compared[v.ReconciledAt] = true
		if !v.syncedAt(rev) || v.Health.Status != "Healthy" {
			t.Fatalf("drift after convergence: %s", v)
		}
		if v.OperationState == nil || v.OperationState.StartedAt != first.OperationState.StartedAt {
			t.Fatalf("Argo CD synced again after convergence: %s", v)
		}
	}
	if len(compared) < 3 {
		t.Errorf("Argo CD compared the Application only %d times in 32 s: the check proves little", len(compared))
	}
	if live := a.live("web"); len(live) != 2 {
		t.Errorf("Talis runs %d instances", len(live))
	}
}

// A set Talis rejects is Degraded in Argo CD, with the operator's Stalled message, and so is the
// Application; it never was Healthy. Fixed in git, it turns Healthy.
func TestArgoRejectedSetIsDegraded(t *testing.T) {
	t.Parallel()
	a := newArgoEnv(t, "argo-rejected")
	rev := a.push(harness.Project(a.ns, "p"), rejected(a.ns, "web"))
	a.application("fleet", "", false, nil)
	var healthy bool
	v := a.eventuallyApp("fleet", "Degraded with the operator's message", 90*time.Second, func(v appView) error {
		healthy = healthy || v.Health.Status == "Healthy"
		r := v.resource("TalisInstanceSet", "web")
		if !v.syncedAt(rev) || v.Health.Status != "Degraded" || r == nil || r.Health.Status != "Degraded" {
			return fmt.Errorf("not Degraded")
		}
		return nil
	})
	stalled := meta.FindStatusCondition(a.set("web").Status.Conditions, infrav1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != infrav1.ReasonTalisRejected {
		t.Fatalf("the set is not Stalled by TalisRejected: %+v", stalled)
	}
	msg := v.resource("TalisInstanceSet", "web").Health.Message
	if want := stalled.Reason + ": " + stalled.Message; msg != want {
		t.Errorf("Argo CD says %q, want the operator's %q", msg, want)
	}
	t.Logf("Argo CD: TalisInstanceSet/web Degraded: %s", msg)
	if healthy {
		t.Errorf("the Application was Healthy before it was Degraded")
	}
	if live := a.live("web"); len(live) != 0 {
		t.Errorf("Talis runs %v for a rejected set", live)
	}

	rev = a.push(harness.Project(a.ns, "p"), harness.Set(a.ns, "web", "p", 1))
	a.refresh("fleet", false)
	a.convergedAt("fleet", rev, "web", 1)
}

// A set paused in git is Suspended in Argo CD (and so is the Application), Talis untouched; the
// commit that lifts the pause is Healthy again.
func TestArgoPausedSetIsSuspended(t *testing.T) {
	t.Parallel()
	a := newArgoEnv(t, "argo-paused")
	set := harness.Set(a.ns, "web", "p", 2)
	rev := a.push(harness.Project(a.ns, "p"), set)
	a.application("fleet", "", false, nil)
	a.convergedAt("fleet", rev, "web", 2)

	metav1.SetMetaDataAnnotation(&set.ObjectMeta, infrav1.PausedAnnotation, "true")
	rev = a.push(harness.Project(a.ns, "p"), set)
	a.refresh("fleet", false)
	v := a.eventuallyApp("fleet", "Suspended", 60*time.Second, func(v appView) error {
		r := v.resource("TalisInstanceSet", "web")
		if !v.syncedAt(rev) || v.Health.Status != "Suspended" || r == nil || r.Health.Status != "Suspended" {
			return fmt.Errorf("not Suspended")
		}
		return nil
	})
	if msg := v.resource("TalisInstanceSet", "web").Health.Message; !strings.Contains(msg, infrav1.PausedAnnotation) {
		t.Errorf("the message does not name the annotation: %q", msg)
	}
	harness.Eventually(t, 30*time.Second, "the set says it is paused", func() error { return a.syncedReason("web", infrav1.ReasonPaused) })
	if live := a.live("web"); len(live) != 2 {
		t.Errorf("a paused set changed Talis: %d live", len(live))
	}

	delete(set.Annotations, infrav1.PausedAnnotation)
	rev = a.push(harness.Project(a.ns, "p"), set)
	a.refresh("fleet", false)
	a.convergedAt("fleet", rev, "web", 2)
}
