package render

import (
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// The kustomize manifests set GOMEMLIMIT to 90% of limits.memory, as the chart does by default
// (templates/_gomemlimit.tpl): headroom for the memory the Go runtime does not see. A downward-API
// resourceFieldRef can only give 100%, so the value is written out and must follow the limit.
func TestKustomizeGoMemLimitIs90PercentOfTheLimit(t *testing.T) {
	deps := typed[appsv1.Deployment](t, kustomizeBuild(t, "config/default"), "Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(deps))
	}
	c := manager(t, deps[0])
	if c == nil {
		t.FailNow()
	}
	limit, ok := c.Resources.Limits["memory"]
	if !ok {
		t.Fatal("the manager has no memory limit")
	}
	want := strconv.FormatInt(limit.Value()*90/100, 10)
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			if e.ValueFrom != nil || e.Value != want {
				t.Errorf("GOMEMLIMIT is %q (valueFrom %v), want %s: 90%% of limits.memory %s", e.Value, e.ValueFrom, want, limit.String())
			}
			return
		}
	}
	t.Error("the manager's environment has no GOMEMLIMIT")
}
