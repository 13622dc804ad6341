package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// While paused, nothing claims a generation the operator has not acted on: kubectl wait keeps
// waiting and kstatus reads InProgress, until the pause is lifted and the spec is done.
func TestPausedScaleClaimsNothing(t *testing.T) {
	emu, url := fastTalis(t)
	u := newUserView(t, "printed-paused", url, nil)
	u.create(harness.Project(u.ns, "p"), harness.Set(u.ns, "web", "p", 2))
	u.setReady("web", 2)
	u.patchSet("web", func(s *infrav1.TalisInstanceSet) {
		metav1.SetMetaDataAnnotation(&s.ObjectMeta, "infra.talis.io/paused", "true")
	})
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"STATUS": infrav1.ReasonPaused})

	u.patchSet("web", func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To[int32](3) })
	gen := u.set("web").Generation
	// The operator has seen the new generation once the pause says it is waiting on it.
	harness.Eventually(t, 30*time.Second, "Synced says the new spec waits for the pause", func() error {
		c := meta.FindStatusCondition(u.set("web").Status.Conditions, infrav1.ConditionSynced)
		if c == nil || c.Reason != infrav1.ReasonPaused || !strings.Contains(c.Message, fmt.Sprintf("generation %d", gen)) {
			return fmt.Errorf("Synced: %+v", c)
		}
		return nil
	})
	s := u.set("web")
	if harness.WaitConditionMet(s.Generation, s.Status.ObservedGeneration, s.Status.Conditions, infrav1.ConditionReady) {
		t.Errorf("kubectl wait --for=condition=Ready returns for generation %d, which a paused set never acted on: %+v", gen, s.Status.Conditions)
	}
	for _, c := range s.Status.Conditions {
		if c.ObservedGeneration >= gen {
			t.Errorf("condition %s claims generation %d while paused: %+v", c.Type, gen, c)
		}
	}
	if s.Status.ObservedGeneration >= gen {
		t.Errorf("status.observedGeneration %d claims the paused generation %d", s.Status.ObservedGeneration, gen)
	}
	if res := kstatusOf(t, s); res.Status != status.InProgressStatus {
		t.Errorf("kstatus reads %s (%s) for a paused set whose spec changed, want InProgress", res.Status, res.Message)
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[harness.SetIdentity(u.ns, "web")].LiveIDs(); len(live) != 2 {
		t.Errorf("a paused set changed Talis: %d live", len(live))
	}

	u.patchSet("web", func(s *infrav1.TalisInstanceSet) { delete(s.Annotations, "infra.talis.io/paused") })
	u.setReady("web", 3)
	s = u.set("web")
	if !harness.WaitConditionMet(s.Generation, s.Status.ObservedGeneration, s.Status.Conditions, infrav1.ConditionReady) {
		t.Errorf("kubectl wait does not return once unpaused and ready: %+v", s.Status.Conditions)
	}
}

// kstatusOf is harness.Kstatus, failing the test on an error.
func kstatusOf(t *testing.T, o client.Object) *status.Result {
	t.Helper()
	res, err := harness.Kstatus(ctx, cp.Client, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func kstatusOfUnstructured(t *testing.T, u *unstructured.Unstructured) *status.Result {
	t.Helper()
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Before the operator has looked, a new object must read InProgress to kstatus (what Flux's
// health check and kubectl wait use), not Current: the API server itself gives it
// status.observedGeneration 0 (a schema default), in the create response and every read.
func TestNewObjectsReadInProgressBeforeTheOperatorLooks(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "printed-unobserved") // no manager watches it
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []client.Object{harness.Project(ns, "p"), harness.Set(ns, "web", "p", 1)} {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: raw}
		gvk, err := cp.Client.GroupVersionKindFor(o)
		if err != nil {
			t.Fatal(err)
		}
		u.SetGroupVersionKind(gvk)
		if err := cp.Client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if res := kstatusOfUnstructured(t, u); res.Status != status.InProgressStatus {
			t.Errorf("%s as the create answered it reads %s (%s), want InProgress", gvk.Kind, res.Status, res.Message)
		}
		if res := kstatusOf(t, o); res.Status != status.InProgressStatus {
			t.Errorf("%s as read back reads %s (%s), want InProgress", gvk.Kind, res.Status, res.Message)
		}
	}
}
