package gitops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/test/harness"
)

// readyAt waits until Flux says rev is applied and healthy.
func (e *env) readyAt(k, rev string) fluxView {
	e.t.Helper()
	return e.eventuallyFlux(k, "applied and healthy at "+rev, 90*time.Second, func(v fluxView) error {
		if !v.readyAt(rev) {
			return fmt.Errorf("not at %s", rev)
		}
		return nil
	})
}

// pruned says whether Flux told that it deleted the object.
func (e *env) pruned(k, object string) bool {
	for _, ev := range e.fluxEvents(k) {
		if strings.Contains(ev, object+" deleted") {
			return true
		}
	}
	return false
}

// A set removed from git is pruned by Flux and the operator terminates every instance before the
// set goes. Flux does not wait for that: the Kustomization is Ready once it has sent the delete.
func TestPruneTerminatesEveryInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-prune", true)
	set := harness.Set(e.ns, "web", "p", 3)
	rev := e.commit("fleet", harness.Project(e.ns, "p"), set)
	e.kustomization("fleet", nil)
	e.waitedFor("fleet", rev, "web", 3)

	rev = e.commit("fleet", harness.Project(e.ns, "p"))
	e.readyAt("fleet", rev)
	t.Logf("the Kustomization is Ready at %s with %d of the set's instances still live in Talis", rev, len(e.live("web")))
	harness.Eventually(t, 60*time.Second, "the pruned set gone", func() error { return harness.Gone(ctx, cp.Client, set) })
	if live := e.live("web"); len(live) != 0 {
		t.Errorf("the set is gone but Talis still runs %v (leaked)", live)
	}
	if !e.pruned("fleet", "TalisInstanceSet/"+e.ns+"/web") {
		t.Errorf("Flux did not tell it pruned the set:\n%s", strings.Join(e.fluxEvents("fleet"), "\n"))
	}
	if v, err := e.flux("fleet"); err != nil || !v.readyAt(rev) {
		t.Errorf("the Kustomization is not Ready after the prune (%v): %s", err, v)
	}
}
