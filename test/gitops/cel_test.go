package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// shippedExprs are docs/health/flux-healthcheckexprs.yaml, which docs/gitops.md must show as is.
func shippedExprs(t *testing.T) []any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cp.RepoRoot, "docs", "health", "flux-healthcheckexprs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []map[string]string
	if err := yaml.UnmarshalStrict(raw, &exprs); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(cp.RepoRoot, "docs", "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	out := make([]any, 0, len(exprs))
	for _, e := range exprs {
		kinds[e["kind"]] = true
		for _, f := range []string{"inProgress", "failed", "current"} {
			if e[f] == "" || !strings.Contains(string(doc), e[f]) {
				t.Errorf("docs/gitops.md does not show %s's %s expression %q", e["kind"], f, e[f])
			}
		}
		m := map[string]any{}
		for k, v := range e {
			m[k] = v
		}
		out = append(out, m)
	}
	if !kinds["TalisInstanceSet"] || !kinds["TalisProject"] || len(exprs) != 2 {
		t.Errorf("the expressions cover %v, want TalisInstanceSet and TalisProject once each", kinds)
	}
	return out
}

// The shipped CEL health checks, evaluated by kustomize-controller: InProgress while the set
// converges (Reconciling), Current once Ready for its generation, Failed when Stalled, naming the
// set. For every status the operator writes they read as kstatus does.
func TestShippedHealthCheckExprs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-cel", true)
	exprs := map[string]any{"healthCheckExprs": shippedExprs(t)}
	rev := e.commit("fleet", harness.Project(e.ns, "p"), harness.Set(e.ns, "web", "p", 2))
	e.kustomization("fleet", exprs)
	if n := e.waitedFor("fleet", rev, "web", 2); n == 0 {
		t.Errorf("Flux was never seen waiting on the set being created")
	}

	rev = e.commit("fleet", harness.Project(e.ns, "p"), harness.Set(e.ns, "web", "p", 2), rejected(e.ns, "bad"))
	v := e.healthCheckFailed("fleet", rev, "TalisInstanceSet/"+e.ns+"/bad")
	t.Logf("Flux: %s", v.Ready.Message)

	rev = e.commit("fleet", harness.Project(e.ns, "p"), harness.Set(e.ns, "web", "p", 2))
	e.readyAt("fleet", rev)
}

// Where kstatus guesses, the CEL checks do not: a status with no Ready condition (here written by
// hand, no manager running) reads Current to kstatus, but InProgress to the shipped expressions
// until Ready=True is written for the set's generation. This also shows that Flux evaluates them.
func TestShippedHealthCheckExprsNeedReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "flux-cel-ready", false)
	rev := e.commit("fleet", harness.Set(e.ns, "web", "p", 1))
	e.kustomization("fleet", map[string]any{"healthCheckExprs": shippedExprs(t)})
	harness.Eventually(t, 30*time.Second, "Flux created the set", func() error { _, err := e.getSet("web"); return err })
	writeStatus := func(conds []metav1.Condition) {
		s := e.set("web")
		s.Status.ObservedGeneration, s.Status.Conditions = s.Generation, conds
		if err := cp.Client.Status().Update(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	writeStatus(nil)
	if res := kstatusOf(t, e.set("web")); res.Status != status.CurrentStatus {
		t.Fatalf("kstatus reads %s (%s) for a status without conditions; the test expects Current there", res.Status, res.Message)
	}
	time.Sleep(12 * time.Second) // more than two of Flux's 5 s health polls
	if v, err := e.flux("fleet"); err != nil || v.Applied == rev || len(e.passed("fleet", rev)) > 0 {
		t.Errorf("Flux passed a set without a Ready condition (%v): %s", err, v)
	}
	writeStatus([]metav1.Condition{{Type: infrav1.ConditionReady, Status: metav1.ConditionTrue, Reason: infrav1.ReasonReady,
		Message: "written by the test", ObservedGeneration: e.set("web").Generation, LastTransitionTime: metav1.Now()}})
	e.readyAt("fleet", rev)
}

// pause sets or removes the paused annotation by hand (kubectl annotate), outside git.
func (e *env) pause(name string, on bool) {
	e.t.Helper()
	if err := harness.Patch(ctx, cp.Client, e.set(name), func(s *infrav1.TalisInstanceSet) {
		if on {
			metav1.SetMetaDataAnnotation(&s.ObjectMeta, infrav1.PausedAnnotation, "true")
		} else {
			delete(s.Annotations, infrav1.PausedAnnotation)
		}
	}); err != nil {
		e.t.Fatal(err)
	}
}

// syncedReason says whether the set's Synced condition has this reason.
func (e *env) syncedReason(name, reason string) error {
	c := meta.FindStatusCondition(e.set(name).Status.Conditions, infrav1.ConditionSynced)
	if c == nil || c.Reason != reason {
		return fmt.Errorf("Synced is %+v, want reason %s", c, reason)
	}
	return nil
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
