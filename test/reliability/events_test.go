package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// A misused annotation gets a Warning event and a condition message, never silence; a paused
// value that is not "true" or "false" errs on the side that changes nothing in Talis.
func TestAnnotationMisuseIsWarned(t *testing.T) {
	emu, url := fastTalis(t)
	u := newUserView(t, "printed-annotations", url, nil)
	u.create(harness.Project(u.ns, "p"), harness.Set(u.ns, "web", "p", 2))
	u.setReady("web", 2)
	identity := harness.SetIdentity(u.ns, "web")

	u.patchSet("web", func(s *infrav1.TalisInstanceSet) {
		metav1.SetMetaDataAnnotation(&s.ObjectMeta, "infra.talis.io/paused", "yes")
		s.Spec.Replicas = ptr.To[int32](3)
	})
	u.eventuallyEvent("TalisInstanceSet/web", "Warning", "InvalidAnnotation", "infra.talis.io/paused", `"yes"`)
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"STATUS": infrav1.ReasonPaused})
	if c := meta.FindStatusCondition(u.set("web").Status.Conditions, infrav1.ConditionSynced); c == nil || !strings.Contains(c.Message, `"yes"`) {
		t.Errorf("Synced does not say the paused value was not understood: %+v", c)
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) != 2 {
		t.Errorf("paused: \"yes\" let the set change Talis: %d live", len(live))
	}

	ids := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs() // oldest first
	u.patchSet("web", func(s *infrav1.TalisInstanceSet) {
		delete(s.Annotations, "infra.talis.io/paused")
		metav1.SetMetaDataAnnotation(&s.ObjectMeta, infrav1.DeleteInstancesAnnotation, fmt.Sprintf("web-1,9999,%d", ids[0]))
		s.Spec.Replicas = ptr.To[int32](1)
	})
	u.eventuallyEvent("TalisInstanceSet/web", "Warning", "InvalidAnnotation", infrav1.DeleteInstancesAnnotation, `"web-1"`, "9999")
	u.setReady("web", 1)
	// The oldest is the one the annotation names; without it, the newest would go.
	if live := harness.LedgerByIdentity(emu.Ledger())[identity].LiveIDs(); len(live) != 1 || live[0] != ids[1] {
		t.Errorf("the annotation named %d among entries it could not use, yet live is %v, want [%d]", ids[0], live, ids[1])
	}
}

// Every change of the reason a user reads is an event; deletion that waits names what it waits for.
func TestEventsFollowTheReasonAndNameWhatDeletionWaitsFor(t *testing.T) {
	_, url := fastTalis(t)
	u := newUserView(t, "printed-events", url, nil)
	u.create(harness.Project(u.ns, "p"), harness.Set(u.ns, "web", "p", 1), harness.Set(u.ns, "api", "p", 1))
	u.setReady("web", 1)
	u.eventuallyEvent("TalisInstanceSet/web", "Normal", infrav1.ReasonCreating)
	u.eventuallyEvent("TalisInstanceSet/web", "Normal", infrav1.ReasonReady)
	u.patchSet("web", func(s *infrav1.TalisInstanceSet) { s.Spec.Template.Size = "s-2vcpu-2gb" })
	u.eventuallyEvent("TalisInstanceSet/web", "Normal", infrav1.ReasonRollingOut)
	u.setReady("web", 1)

	if err := cp.Client.Delete(ctx, harness.Project(u.ns, "p")); err != nil {
		t.Fatal(err)
	}
	u.eventuallyEvent("TalisProject/p", "Normal", infrav1.ReasonWaitingForInstanceSets, "api", "web")
	var p infrav1.TalisProject
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: "p"}, &p); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, infrav1.ConditionReady); c == nil || !strings.Contains(c.Message, "api") || !strings.Contains(c.Message, "web") {
		t.Errorf("the deleting project's Ready does not name the sets it waits for: %+v", c)
	}
	for _, name := range []string{"web", "api"} {
		s := u.set(name)
		if err := cp.Client.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 60*time.Second, "project gone", func() error { return harness.Gone(ctx, cp.Client, &p) })
}

// A new set tells its create in one event: the change to Creating together with what Talis made
// (the IDs), then Ready. Events are most of what a converging set costs the API server, so the
// create's outcome is not an event of its own.
func TestANewSetTellsItsCreateInOneEvent(t *testing.T) {
	emu, url := fastTalis(t)
	u := newUserView(t, "printed-create-event", url, nil)
	u.create(harness.Project(u.ns, "p"))
	harness.Eventually(t, 60*time.Second, "the project Ready", func() error {
		return harness.ProjectReady(ctx, cp.Client, u.ns, "p")
	})
	u.create(harness.Set(u.ns, "web", "p", 3))
	u.setReady("web", 3)
	live := harness.LedgerByIdentity(emu.Ledger())[harness.SetIdentity(u.ns, "web")].LiveIDs()
	if len(live) != 3 {
		t.Fatalf("the ledger has %d live instances of the set, want 3", len(live))
	}
	notes := []string{"created 3 instance(s) in Talis (attempt 1)"}
	for _, id := range live {
		notes = append(notes, fmt.Sprint(id))
	}
	u.eventuallyEvent("TalisInstanceSet/web", "Normal", infrav1.ReasonCreating, notes...)
	u.eventuallyEvent("TalisInstanceSet/web", "Normal", infrav1.ReasonReady)

	// The recorder sends in order, so whatever came before Ready is there now.
	evs, err := harness.Events(ctx, cp.Client, u.ns)
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	for _, e := range evs {
		if e.Object == "TalisInstanceSet/web" {
			told = append(told, e.Reason)
		}
	}
	if len(told) != 2 {
		t.Errorf("a new set's convergence told %d events %v, want Creating (with the create) and Ready:\n%s", len(told), told, harness.JoinEvents(evs))
	}
}
