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

// waitedFor follows a Kustomization every 50 ms until Flux says rev is applied and healthy, and
// requires that by then the set is Ready with n instances and Talis runs exactly n: the
// Kustomization is read first, so a set found not ready after it was seen Ready is Flux passing
// too early. It returns how many times Flux was seen waiting on a set not yet ready (a check that
// saw none proves nothing).
func (e *env) waitedFor(k, rev, set string, n int) int {
	e.t.Helper()
	key := harness.SetKey{Namespace: e.ns, Name: set}
	waiting := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, err := e.flux(k)
		if err != nil {
			e.t.Fatal(err)
		}
		setErr := harness.SetReady(ctx, cp.Client, key, n)
		if v.readyAt(rev) {
			if setErr != nil {
				e.t.Fatalf("Flux says %s is applied and healthy (%s) but %v", rev, v, setErr)
			}
			if live := e.live(set); len(live) != n {
				e.t.Fatalf("Flux says %s is applied and healthy but Talis runs %d instances of %s: %v", rev, len(live), set, live)
			}
			s := e.set(set)
			ready := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
			if v.Ready.LastTransitionTime.Before(&ready.LastTransitionTime) {
				e.t.Errorf("the Kustomization went Ready at %s, before its set did at %s", v.Ready.LastTransitionTime, ready.LastTransitionTime)
			}
			return waiting
		}
		if setErr != nil && v.Attempted == rev {
			waiting++
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("Flux never said %s is applied and healthy: %s; set: %v", rev, v, setErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// passed lists the Kustomization's "Health check passed" events about rev.
func (e *env) passed(k, rev string) []string {
	var out []string
	for _, ev := range e.fluxEvents(k) {
		if strings.HasPrefix(ev, "["+rev+"]") && strings.Contains(ev, "Health check passed") {
			out = append(out, ev)
		}
	}
	return out
}

// A Kustomization that waits is Ready only once its set is: on creation, and when git scales it
// from 3 to 5 (Talis then runs exactly 5).
func TestKustomizationWaitsForTheFleet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-wait", true)
	set := harness.Set(e.ns, "web", "p", 3)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.kustomization("fleet", nil)
	if n := e.waitedFor("fleet", rev, "web", 3); n == 0 {
		t.Errorf("Flux was never seen waiting on the set being created")
	}
	if len(e.passed("fleet", rev)) == 0 {
		t.Errorf("no \"Health check passed\" event for %s:\n%s", rev, strings.Join(e.fluxEvents("fleet"), "\n"))
	}

	set.Spec.Replicas = ptr.To[int32](5)
	rev = e.commit("fleet", harness.Project(e.ns, "p"), set)
	if n := e.waitedFor("fleet", rev, "web", 5); n == 0 {
		t.Errorf("Flux was never seen waiting on the scale-up")
	}
	if all := harness.LedgerByIdentity(e.emu.Ledger())[harness.SetIdentity(e.ns, "web")].All; len(all) != 5 {
		t.Errorf("Talis created %d instances for 3 then 5", len(all))
	}
}

// rejected is a set whose create Talis refuses with a 400 ("payload_path file does not exist").
func rejected(ns, name string) *infrav1.TalisInstanceSet {
	s := harness.Set(ns, name, "p", 1)
	s.Spec.Template.Provision = true
	s.Spec.Template.PayloadPath = "/nonexistent/" + ns + "/payload.sh"
	return s
}

// healthCheckFailed waits until Flux reports rev's health check failed and the message names the
// object (Kind/namespace/name), and requires that Flux never said it passed.
func (e *env) healthCheckFailed(k, rev, object string) fluxView {
	e.t.Helper()
	v := e.eventuallyFlux(k, "health check fails naming "+object, 90*time.Second, func(v fluxView) error {
		if v.Attempted != rev || v.Ready == nil || v.Ready.Status != metav1.ConditionFalse || v.Ready.Reason != "HealthCheckFailed" {
			return fmt.Errorf("not failed at %s", rev)
		}
		if !strings.Contains(v.Ready.Message, object) {
			return fmt.Errorf("the message does not name %s", object)
		}
		return nil
	})
	if p := e.passed(k, rev); len(p) > 0 || v.Applied == rev && v.Ready.Status == metav1.ConditionTrue {
		e.t.Errorf("Flux passed %s's health check: %v", rev, p)
	}
	return v
}

// A set Talis rejects fails the health check and the message names it; it did not pass first,
// although Flux checked it right after creating it. While Flux retries, the create is not sent
// again. Fixed in git, it passes.
func TestRejectedSetFailsTheHealthCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-rejected", true)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), rejected(e.ns, "web"))
	e.kustomization("fleet", nil)
	v := e.healthCheckFailed("fleet", rev, "TalisInstanceSet/"+e.ns+"/web")
	t.Logf("Flux: %s", v.Ready.Message)
	stalled := meta.FindStatusCondition(e.set("web").Status.Conditions, infrav1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != infrav1.ReasonTalisRejected {
		t.Errorf("the set is not Stalled by TalisRejected: %+v", stalled)
	}
	if live := e.live("web"); len(live) != 0 {
		t.Errorf("Talis runs %v for a rejected set", live)
	}
	// Flux retries every 5 s (retryInterval), applying the same spec: Talis hears the rejected
	// create once, Flux keeps naming the set, and one event tells the rejection.
	posts := func() int64 { return e.emu.Stats().Requests["POST /api/v1/instances"] }
	sent := posts()
	time.Sleep(12 * time.Second)
	if n := posts(); n != sent || n != 1 {
		t.Errorf("the rejected create was sent %d times, %d of them while Flux retried", n, n-sent)
	}
	e.healthCheckFailed("fleet", rev, "TalisInstanceSet/"+e.ns+"/web")
	evs, err := harness.Events(ctx, cp.Client, e.ns)
	if err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, ev := range evs {
		if ev.Object == "TalisInstanceSet/web" && ev.Reason == infrav1.ReasonTalisRejected {
			told++
		}
	}
	if told != 1 {
		t.Errorf("%d TalisRejected events, want 1:\n%s", told, harness.JoinEvents(evs))
	}

	rev = e.commit("fleet", harness.Project(e.ns, "p"), harness.Set(e.ns, "web", "p", 1))
	e.waitedFor("fleet", rev, "web", 1)
}

// With no manager running, a new set has no status but the API server's defaults: it must not pass
// the health check (kstatus reads status.observedGeneration 0 behind generation 1 as InProgress),
// and Flux times out naming it. Started later, the manager makes it pass.
func TestUnobservedSetNeverPasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-unobserved", false)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), harness.Set(e.ns, "web", "p", 1))
	e.kustomization("fleet", map[string]any{"timeout": "30s"}) // kustomize-controller's shortest
	v := e.healthCheckFailed("fleet", rev, "TalisInstanceSet/"+e.ns+"/web")
	if !strings.Contains(v.Ready.Message, "InProgress") {
		t.Errorf("Flux's message does not say the set is in progress: %s", v.Ready.Message)
	}
	t.Logf("Flux: %s", v.Ready.Message)
	if s := e.set("web"); s.Status.ObservedGeneration != 0 || len(s.Status.Conditions) != 0 {
		t.Fatalf("something wrote the set's status although no manager runs: %+v", s.Status)
	}

	e.startManager()
	e.waitedFor("fleet", rev, "web", 1)
}
