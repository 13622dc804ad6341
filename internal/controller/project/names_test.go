package project

import (
	"regexp"
	"strings"
	"testing"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// The pattern spec.projectName accepts: a default name can always be written back as one.
var projectNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

func TestDefaultProjectNamesNeverCollide(t *testing.T) {
	long := strings.Repeat("n", 253)
	// Namespaces are DNS labels (no dot); names are DNS subdomains.
	pairs := [][2]string{
		{"a-b", "c"}, {"a", "b-c"}, {"a", "b.c"}, {"a-b", "c.d"}, {"a", "b-c.d"}, {"team", "web"}, {"team", "web.x"},
		{strings.Repeat("a", 63), long}, {strings.Repeat("a", 63), long[:252] + "m"}, {"b", long},
	}
	seen := map[string]string{}
	for _, cluster := range []string{"", "east", "west"} {
		for _, p := range pairs {
			n := defaultProjectName(cluster, p[0], p[1])
			key := cluster + "|" + p[0] + "/" + p[1]
			if other, dup := seen[n]; dup {
				t.Errorf("%s and %s both get %q", key, other, n)
			}
			seen[n] = key
			if len(n) > maxProjectName || !projectNamePattern.MatchString(n) {
				t.Errorf("%s: %q (%d chars) is not a valid spec.projectName", key, n, len(n))
			}
			if !strings.HasPrefix(n, p[0]+".") {
				t.Errorf("%s: %q does not start with its namespace", key, n)
			}
		}
	}
}

func TestExplicitNamesCannotSquatAnotherNamespacesDefault(t *testing.T) {
	victim := defaultProjectName("c", "victim", "p")
	for name, want := range map[string]bool{
		victim: true, defaultProjectName("c", "victim", strings.Repeat("n", 200)): true,
		defaultProjectName("c", "team", "p"): false, "victim.p": false, "my-project": false, "victim.p.notahexsuffix": false,
	} {
		p := &infrav1.TalisProject{}
		p.Namespace, p.Spec.ProjectName = "team", name
		if got := squatsDefault(p); got != want {
			t.Errorf("%q from namespace team: squats %v, want %v", name, got, want)
		}
	}
}
