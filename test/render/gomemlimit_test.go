package render

import (
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// goMemLimitBytes parses GOMEMLIMIT as the Go runtime does: a byte count with an optional B,
// KiB, MiB, GiB or TiB suffix.
func goMemLimitBytes(v string) (int64, bool) {
	for _, u := range []struct {
		suffix string
		scale  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			i, err := strconv.ParseInt(n, 10, 64)
			return i * u.scale, err == nil
		}
	}
	i, err := strconv.ParseInt(v, 10, 64)
	return i, err == nil
}

// checkGoMemLimit requires GOMEMLIMIT, when the manager has a memory limit and the variable, to
// be a literal value below the limit with 5-15% of headroom: the runtime does not see all the
// memory the container is charged for, so 100% (what a resourceFieldRef gives) leaves none.
func checkGoMemLimit(t *testing.T, objs objects) {
	t.Helper()
	for _, d := range typed[appsv1.Deployment](t, objs, "Deployment") {
		c := manager(t, d)
		if c == nil {
			continue
		}
		limit, hasLimit := c.Resources.Limits.Memory().AsInt64()
		for _, e := range c.Env {
			if e.Name != "GOMEMLIMIT" {
				continue
			}
			where := "Deployment " + d.Namespace + "/" + d.Name
			if e.ValueFrom != nil {
				t.Errorf("%s: GOMEMLIMIT from %+v leaves no headroom; give a value", where, e.ValueFrom)
				continue
			}
			got, ok := goMemLimitBytes(e.Value)
			if !ok {
				t.Errorf("%s: GOMEMLIMIT %q is not a byte count the Go runtime reads", where, e.Value)
				continue
			}
			if c.Resources.Limits.Memory().IsZero() || !hasLimit {
				t.Errorf("%s: GOMEMLIMIT %s without a memory limit", where, e.Value)
				continue
			}
			if ratio := float64(got) / float64(limit); ratio < 0.85 || ratio > 0.95 {
				t.Errorf("%s: GOMEMLIMIT %s is %.1f%% of the memory limit %s; keep it at about 90%%", where, e.Value, 100*ratio, c.Resources.Limits.Memory())
			}
		}
	}
}

// TestKustomizeGoMemLimit: config/manager gives GOMEMLIMIT as a value, 90% of its memory limit.
func TestKustomizeGoMemLimit(t *testing.T) {
	objs := kustomizeBuild(t, "config/default")
	e, ok := envOf(t, objs, "GOMEMLIMIT")
	if !ok {
		t.Fatal("config/default sets no GOMEMLIMIT")
	}
	limit, _ := manager(t, theDeployment(t, objs)).Resources.Limits.Memory().AsInt64()
	if want := strconv.FormatInt(limit*9/10, 10); e.Value != want {
		t.Errorf("GOMEMLIMIT %+v, want %s (90%% of the memory limit %d)", e, want, limit)
	}
}
