package gitops

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

// scale sets spec.replicas through the scale subresource, as an HPA (or kubectl scale) does: a
// read and an update of the Scale, under another field manager than Flux's.
func (e *env) scale(name string, n int32) {
	e.t.Helper()
	set := e.set(name)
	var sc autoscalingv1.Scale
	if err := cp.Client.SubResource("scale").Get(ctx, set, &sc); err != nil {
		e.t.Fatal(err)
	}
	sc.Spec.Replicas = n
	if err := cp.Client.SubResource("scale").Update(ctx, set, client.WithSubResourceBody(&sc), client.FieldOwner("horizontal-pod-autoscaler")); err != nil {
		e.t.Fatal(err)
	}
}

// The set-ups docs/gitops.md recommends for an autoscaler under Flux hold: spec.replicas left out
// of git, kept in git with the Kustomization's spec.ignore rule on /spec/replicas, or kept in git
// on a set marked kustomize.toolkit.fluxcd.io/ssa: IfNotPresent. A value set through the scale
// subresource survives Flux's reconciles, also of a commit that changes replicas in git, and Talis
// never loses an instance. Without them (the control) Flux sets replicas back and instances the
// autoscaler asked for are terminated.
func TestAutoscaledReplicasSurviveFlux(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-replicas", true)
	omitted := harness.Set(e.ns, "omitted", "p", 1)
	omitted.Spec.Replicas = nil
	kept := func(replicas int32) []client.Object {
		ignored := harness.Set(e.ns, "ignored", "p", replicas)
		ifNotPresent := harness.Set(e.ns, "ifnotpresent", "p", replicas)
		metav1.SetMetaDataAnnotation(&ifNotPresent.ObjectMeta, "kustomize.toolkit.fluxcd.io/ssa", "IfNotPresent")
		return []client.Object{harness.Project(e.ns, "p"), omitted, ignored, ifNotPresent}
	}
	// As docs/gitops.md prints it.
	ignore := []any{map[string]any{"paths": []any{"/spec/replicas"},
		"target": map[string]any{"group": "infra.talis.io", "kind": "TalisInstanceSet"}}}
	rev := e.commit("fleet", kept(2)...)
	e.kustomization("fleet", map[string]any{"ignore": ignore})
	control := e.commit("control", harness.Set(e.ns, "control", "p", 2))
	e.kustomization("control", nil)
	e.readyAt("fleet", rev)
	e.readyAt("control", control)
	e.setReady("omitted", 1)
	for _, name := range []string{"ignored", "ifnotpresent", "control"} {
		e.setReady(name, 2)
	}

	sets := []string{"omitted", "ignored", "ifnotpresent", "control"}
	for _, name := range sets {
		e.scale(name, 3)
	}
	for _, name := range sets {
		e.setReady(name, 3)
	}

	// A commit that changes replicas in git to 4, and a reconcile of the same revision.
	rev = e.commit("fleet", kept(4)...)
	e.readyAt("fleet", rev)
	e.reconcile("fleet")
	e.reconcile("control")
	for _, name := range sets[:3] {
		if got := *e.set(name).Spec.Replicas; got != 3 {
			t.Errorf("%s: Flux set spec.replicas to %d, the autoscaler's 3 is lost", name, got)
		}
		e.setReady(name, 3)
		if all := harness.LedgerByIdentity(e.emu.Ledger())[harness.SetIdentity(e.ns, name)].All; len(all) != 3 {
			t.Errorf("%s: Talis created %d instances for a fleet scaled once to 3 (some were terminated and made again)", name, len(all))
		}
	}

	// The control: replicas in git, no rule. Flux takes the field back at its next reconcile.
	if got := *e.set("control").Spec.Replicas; got != 2 {
		t.Errorf("control: spec.replicas is %d after Flux's reconcile, want git's 2 (the test would not see the problem the set-ups avoid)", got)
	}
	e.setReady("control", 2)
	t.Logf("control: Talis terminated %d instance(s) the autoscaler had asked for",
		len(harness.LedgerByIdentity(e.emu.Ledger())[harness.SetIdentity(e.ns, "control")].All)-2)
}
