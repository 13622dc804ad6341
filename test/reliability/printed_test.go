package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

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
