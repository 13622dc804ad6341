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

// A commit that pauses a set and changes its spec does not pass Flux's health check: the paused
// set claims no generation it has not acted on (kstatus: InProgress) and Talis is left alone. A
// later commit that lifts the pause is applied, and passes once the change is done.
func TestPauseAndSpecChangeInOneCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-pause-change", true)
	set := harness.Set(e.ns, "web", "p", 3)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.kustomization("fleet", map[string]any{"timeout": "30s"})
	e.waitedFor("fleet", rev, "web", 3)

	metav1.SetMetaDataAnnotation(&set.ObjectMeta, infrav1.PausedAnnotation, "true")
	set.Spec.Replicas = ptr.To[int32](5)
	paused := e.commit("fleet", harness.Project(e.ns, "p"), set)
	harness.Eventually(t, 30*time.Second, "Synced names the generation that waits", func() error {
		s, err := e.getSet("web")
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionSynced)
		if s.Generation < 2 || c == nil || c.Reason != infrav1.ReasonPaused || !strings.Contains(c.Message, fmt.Sprintf("generation %d", s.Generation)) {
			return fmt.Errorf("generation %d, Synced %+v", s.Generation, c)
		}
		return nil
	})
	time.Sleep(12 * time.Second) // more than two of Flux's 5 s health polls
	if v, err := e.flux("fleet"); err != nil || v.readyAt(paused) || len(e.passed("fleet", paused)) > 0 {
		t.Errorf("Flux passed a paused set whose new spec was not acted on (%v): %s", err, v)
	}
	if live := e.live("web"); len(live) != 3 {
		t.Errorf("a paused set changed Talis: %d live", len(live))
	}

	delete(set.Annotations, infrav1.PausedAnnotation)
	rev = e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.waitedFor("fleet", rev, "web", 5)
	if p := e.passed("fleet", paused); len(p) > 0 {
		t.Errorf("Flux passed the paused revision: %v", p)
	}
}

// A paused set pruned by Flux waits for the pause, and says so in its Synced condition and a
// Warning event, with every instance still running; Flux has gone Ready. Unpaused by hand, the
// deletion finishes and terminates every instance.
func TestPausedSetPrunedWaitsAndSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-paused-prune", true)
	set := harness.Set(e.ns, "web", "p", 2)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.kustomization("fleet", nil)
	e.waitedFor("fleet", rev, "web", 2)

	metav1.SetMetaDataAnnotation(&set.ObjectMeta, infrav1.PausedAnnotation, "true")
	rev = e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.readyAt("fleet", rev) // paused with the spec it acted on: Current
	harness.Eventually(t, 30*time.Second, "the set says it is paused", func() error { return e.syncedReason("web", infrav1.ReasonPaused) })

	rev = e.commit("fleet", harness.Project(e.ns, "p"))
	e.readyAt("fleet", rev)
	if !e.pruned("fleet", "TalisInstanceSet/"+e.ns+"/web") {
		t.Errorf("Flux did not tell it pruned the set:\n%s", strings.Join(e.fluxEvents("fleet"), "\n"))
	}
	const waits = "the deletion waits for the pause"
	harness.Eventually(t, 30*time.Second, "Synced says the deletion waits", func() error {
		s := e.set("web")
		c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionSynced)
		if s.DeletionTimestamp == nil || c == nil || c.Reason != infrav1.ReasonPaused || !strings.Contains(c.Message, waits) {
			return fmt.Errorf("deleting since %v, Synced %+v", s.DeletionTimestamp, c)
		}
		return nil
	})
	harness.Eventually(t, 30*time.Second, "a Warning event says the deletion waits", func() error {
		evs, err := harness.Events(ctx, cp.Client, e.ns)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Object == "TalisInstanceSet/web" && ev.Type == "Warning" && ev.Reason == infrav1.ReasonPaused && strings.Contains(ev.Note, waits) {
				return nil
			}
		}
		return fmt.Errorf("events:\n%s", harness.JoinEvents(evs))
	})
	time.Sleep(2 * time.Second)
	if live := e.live("web"); len(live) != 2 {
		t.Errorf("a paused set's deletion changed Talis: %d live", len(live))
	}
	if v, err := e.flux("fleet"); err != nil || !v.readyAt(rev) {
		t.Errorf("the Kustomization is not Ready while the paused set waits (%v): %s", err, v)
	}

	e.pause("web", false)
	harness.Eventually(t, 60*time.Second, "the unpaused set gone", func() error { return harness.Gone(ctx, cp.Client, set) })
	if live := e.live("web"); len(live) != 0 {
		t.Errorf("the set is gone but Talis still runs %v (leaked)", live)
	}
}
