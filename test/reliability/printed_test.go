package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// These tests read what a user reads: the rows `kubectl get` prints (the API server's Table),
// `kubectl wait`'s rule, kstatus, and events.k8s.io Events. A condition being right is not
// enough if the column hides it.

// userView is one namespace with a manager and an emulator, seen the way a user sees it.
type userView struct {
	t  *testing.T
	ns string
}

func newUserView(t *testing.T, prefix string, url string, extraArgs []string, env ...string) userView {
	t.Helper()
	ns, err := cp.NewNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, append([]string{"--watch-namespaces", ns}, extraArgs...)...), env...)
	return userView{t: t, ns: ns}
}

func (u userView) create(objs ...client.Object) {
	u.t.Helper()
	for _, o := range objs {
		if err := cp.Client.Create(ctx, o); err != nil {
			u.t.Fatal(err)
		}
	}
}

// row is what `kubectl get <resource> <name> -o wide` prints, by column header as printed.
func (u userView) row(resource, name string) (map[string]string, error) {
	row, err := harness.PrintedRow(ctx, cp.Config, resource, u.ns, name)
	printed := make(map[string]string, len(row))
	for col, v := range row {
		printed[strings.ToUpper(col)] = v
	}
	return printed, err
}

// eventuallyPrinted waits until the printed row has these columns.
func (u userView) eventuallyPrinted(resource, name string, want map[string]string) {
	u.t.Helper()
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("kubectl get %s %s prints %v", resource, name, want), func() error {
		row, err := u.row(resource, name)
		if err != nil {
			return err
		}
		for col, v := range want {
			if row[col] != v {
				return fmt.Errorf("%s is %q, want %q (row %v)", col, row[col], v, row)
			}
		}
		return nil
	})
}

// eventuallyEvent waits for an event about kind/name whose reason is reason and whose note has
// every one of notes.
func (u userView) eventuallyEvent(object, typ, reason string, notes ...string) harness.Event {
	u.t.Helper()
	var found harness.Event
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("a %s event %s about %s", typ, reason, object), func() error {
		evs, err := harness.Events(ctx, cp.Client, u.ns)
		if err != nil {
			return err
		}
	next:
		for _, e := range evs {
			if e.Object != object || e.Type != typ || e.Reason != reason {
				continue
			}
			for _, n := range notes {
				if !strings.Contains(e.Note, n) {
					continue next
				}
			}
			found = e
			return nil
		}
		return fmt.Errorf("events:\n%s", harness.JoinEvents(evs))
	})
	return found
}

func (u userView) set(name string) *infrav1.TalisInstanceSet {
	u.t.Helper()
	var s infrav1.TalisInstanceSet
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: name}, &s); err != nil {
		u.t.Fatal(err)
	}
	return &s
}

func (u userView) setReady(name string, n int) {
	u.t.Helper()
	key := harness.SetKey{Namespace: u.ns, Name: name}
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("%s ready with %d", key, n), func() error { return harness.SetReady(ctx, cp.Client, key, n) })
}

func (u userView) patchSet(name string, f func(*infrav1.TalisInstanceSet)) {
	u.t.Helper()
	if err := harness.Patch(ctx, cp.Client, u.set(name), f); err != nil {
		u.t.Fatal(err)
	}
}

// A set whose outputs ConfigMap belongs to another app needs a person: kubectl get must say so,
// although its fleet is Ready.
func TestPrintedStatusShowsAStalledSet(t *testing.T) {
	_, url := fastTalis(t)
	u := newUserView(t, "printed-stalled", url, nil)
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: u.ns, Name: "hosts", Labels: map[string]string{"app": "other"}},
		Data: map[string]string{"owner": "someone else"}}
	set := harness.Set(u.ns, "web", "p", 1)
	set.Spec.Outputs = &infrav1.InstanceSetOutputs{ConfigMapName: "hosts"}
	u.create(theirs, harness.Project(u.ns, "p"), set)

	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"READY": "1", "SYNCED": "False", "STATUS": infrav1.ReasonOutputsNotOwned})
	u.eventuallyEvent("TalisInstanceSet/web", "Warning", infrav1.ReasonOutputsNotOwned, "hosts")
	u.eventuallyPrinted("talisprojects", "p", map[string]string{"READY": "True", "SYNCED": "True", "STATUS": infrav1.ReasonReady})
}

// Deleting a set leaves its outputs ConfigMap to the garbage collector, which may not have run
// (or, as in the demo's control plane, may not exist) when the same set is applied again: the new
// set takes over its deleted predecessor's ConfigMap instead of stalling on it.
func TestReappliedSetTakesOverItsPredecessorsOutputs(t *testing.T) {
	_, url := fastTalis(t)
	u := newUserView(t, "printed-reapply", url, nil)
	newSet := func() *infrav1.TalisInstanceSet {
		s := harness.Set(u.ns, "web", "p", 1)
		s.Spec.Outputs = &infrav1.InstanceSetOutputs{ConfigMapName: "web-hosts"}
		return s
	}
	u.create(harness.Project(u.ns, "p"), newSet())
	u.setReady("web", 1)
	first := u.set("web")
	if err := cp.Client.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "first set gone", func() error { return harness.Gone(ctx, cp.Client, first) })
	var cm corev1.ConfigMap
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: "web-hosts"}, &cm); err != nil {
		t.Fatalf("the predecessor's ConfigMap is gone (this control plane runs no garbage collector, so the test proves nothing): %v", err)
	}

	u.create(newSet())
	u.setReady("web", 1)
	second := u.set("web")
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"SYNCED": "True", "STATUS": infrav1.ReasonReady})
	harness.Eventually(t, 30*time.Second, "the ConfigMap is the new set's", func() error {
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: "web-hosts"}, &cm); err != nil {
			return err
		}
		if owner := metav1.GetControllerOf(&cm); owner == nil || owner.UID != second.UID {
			return fmt.Errorf("controller of web-hosts is %+v, want the new set %s", owner, second.UID)
		}
		return nil
	})
}

// A revoked key must show on a steady set (and its project) within one drift interval, naming
// the manager's key, although no create or delete is pending to hit the 401.
func TestRevokedKeyIsSeenWithinTheDriftInterval(t *testing.T) {
	emu, url := fastTalis(t)
	emu.SetAPIKeys("key-1")
	const drift = 2 * time.Second
	u := newUserView(t, "printed-revoked", url, []string{"--drift-interval", drift.String()}, "TALIS_API_KEY=key-1")
	u.create(harness.Project(u.ns, "p"), harness.Set(u.ns, "web", "p", 1))
	u.setReady("web", 1)
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"SYNCED": "True", "STATUS": infrav1.ReasonReady})

	emu.SetAPIKeys("key-2")
	revoked := time.Now()
	for _, o := range []struct{ resource, kind, name string }{{"talisinstancesets", "TalisInstanceSet", "web"}, {"talisprojects", "TalisProject", "p"}} {
		u.eventuallyPrinted(o.resource, o.name, map[string]string{"SYNCED": "False", "STATUS": infrav1.ReasonInvalidCredentials})
		t.Logf("%s %s shows InvalidCredentials %s after the key was revoked (drift interval %s)", o.kind, o.name, time.Since(revoked).Round(100*time.Millisecond), drift)
		u.eventuallyEvent(o.kind+"/"+o.name, "Warning", infrav1.ReasonInvalidCredentials, "TALIS_API_KEY")
	}
	s := u.set("web")
	if c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionSynced); c == nil || !strings.Contains(c.Message, "--talis-api-key-file") {
		t.Errorf("Synced does not name where the manager's key comes from: %+v", c)
	}

	emu.SetAPIKeys("key-1")
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"SYNCED": "True", "STATUS": infrav1.ReasonReady})
}

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

// kstatusOf is what kstatus reads of the stored object (read as JSON: a typed object would drop
// a zero observedGeneration).
func kstatusOf(t *testing.T, o client.Object) *status.Result {
	t.Helper()
	u := &unstructured.Unstructured{}
	gvk, err := cp.Client.GroupVersionKindFor(o)
	if err != nil {
		t.Fatal(err)
	}
	u.SetGroupVersionKind(gvk)
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
		t.Fatal(err)
	}
	return kstatusOfUnstructured(t, u)
}

func kstatusOfUnstructured(t *testing.T, u *unstructured.Unstructured) *status.Result {
	t.Helper()
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

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

// A Secret created after its project, without the credentials label, is reported as such at
// once, not as missing until the next retry (--error-retry here is 5 minutes); the message about
// a missing Secret tells about the label too.
func TestCredentialsSecretProblemsSayWhy(t *testing.T) {
	_, url := fastTalis(t)
	u := newUserView(t, "printed-secrets", url, []string{"--error-retry", "5m"})
	p := harness.Project(u.ns, "p")
	p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "apiKey"}}
	u.create(p)
	u.eventuallyPrinted("talisprojects", "p", map[string]string{"SYNCED": "False", "STATUS": infrav1.ReasonCredentialsUnavailable})
	u.eventuallyEvent("TalisProject/p", "Warning", infrav1.ReasonCredentialsUnavailable, "creds", infrav1.CredentialsLabel)

	u.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: u.ns, Name: "creds"}, StringData: map[string]string{"apiKey": "k"}})
	created := time.Now()
	u.eventuallyPrinted("talisprojects", "p", map[string]string{"SYNCED": "False", "STATUS": infrav1.ReasonSecretNotLabeled})
	t.Logf("SecretNotLabeled shown %s after the Secret was created", time.Since(created).Round(100*time.Millisecond))
	u.eventuallyEvent("TalisProject/p", "Warning", infrav1.ReasonSecretNotLabeled, "creds")
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

// A create Talis rejects outright (400) is not sent again until the spec changes: Stalled
// stays still (no Reconciling blip per retry, its lastTransitionTime ages) and one event tells it.
func TestRejectedCreateStopsUntilTheSpecChanges(t *testing.T) {
	emu, url := fastTalis(t)
	u := newUserView(t, "printed-rejected", url, []string{"--error-retry", "500ms"})
	set := harness.Set(u.ns, "web", "p", 1)
	set.Spec.Template.Provision = true
	set.Spec.Template.PayloadPath = "/nonexistent/" + u.ns + "/payload.sh" // Talis: "payload_path file does not exist"
	u.create(harness.Project(u.ns, "p"), set)
	u.eventuallyPrinted("talisinstancesets", "web", map[string]string{"SYNCED": "False", "STATUS": infrav1.ReasonTalisRejected})
	posts := func() int64 { return emu.Stats().Requests["POST /api/v1/instances"] }
	stalled := meta.FindStatusCondition(u.set("web").Status.Conditions, infrav1.ConditionStalled)
	sent := posts()

	// Ten --error-retry periods: before, each re-sent the create.
	time.Sleep(5 * time.Second)
	if n := posts(); n != sent {
		t.Errorf("the rejected create was sent again: %d create calls, then %d", sent, n)
	}
	now := meta.FindStatusCondition(u.set("web").Status.Conditions, infrav1.ConditionStalled)
	if now.Status != metav1.ConditionTrue || !now.LastTransitionTime.Equal(&stalled.LastTransitionTime) {
		t.Errorf("Stalled moved: %+v, then %+v", stalled, now)
	}
	evs, err := harness.Events(ctx, cp.Client, u.ns)
	if err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, e := range evs {
		if e.Object == "TalisInstanceSet/web" && e.Reason == infrav1.ReasonTalisRejected {
			told++
		}
	}
	if told != 1 {
		t.Errorf("%d TalisRejected events, want 1:\n%s", told, harness.JoinEvents(evs))
	}

	u.patchSet("web", func(s *infrav1.TalisInstanceSet) { s.Spec.Template.PayloadPath, s.Spec.Template.Provision = "", false })
	u.setReady("web", 1)
}
