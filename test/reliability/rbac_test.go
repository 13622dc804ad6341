package reliability

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestRBACIsLeastPrivilege pins the generated ClusterRole (config/rbac/role.yaml) to what the
// reconcilers need. The other tests run the manager as a user holding only these roles, which
// shows they are also enough.
func TestRBACIsLeastPrivilege(t *testing.T) {
	var role rbacv1.ClusterRole
	if err := cp.ReadRBAC("role.yaml", &role); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/namespaces":                             {"get"}, // kube-system only, for the default --cluster-id
		"events.k8s.io/events":                    {"create", "patch"},
		"infra.talis.io/talisprojects":            {"get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisinstancesets":        {"get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisprojects/status":     {"get", "patch", "update"},
		"infra.talis.io/talisinstancesets/status": {"get", "patch", "update"},
		"infra.talis.io/talisprojects/finalizers": {"update"},
		// Fleet outputs: the set's own ConfigMap is created and kept up to date, never deleted
		// (garbage collection does that through its owner reference).
		"/configmaps": {"create", "get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisinstancesets/finalizers": {"update"},
	}
	got := map[string][]string{}
	for i, r := range role.Rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			if slices.ContainsFunc(field, func(s string) bool { return strings.Contains(s, "*") }) {
				t.Errorf("rule %d has a wildcard: %+v", i, r)
			}
		}
		if len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %d grants non-resource URLs: %+v", i, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				k := g + "/" + res
				got[k] = append(got[k], r.Verbs...)
			}
		}
	}
	for k, verbs := range got {
		slices.Sort(verbs)
		got[k] = slices.Compact(verbs)
		if k == "/secrets" {
			for _, v := range verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("secrets: verb %q; the manager may only read Secrets", v)
				}
			}
		}
		for _, v := range verbs {
			if slices.Contains([]string{"delete", "deletecollection", "escalate", "bind", "impersonate", "approve", "sign"}, v) {
				t.Errorf("%s: verb %q is never needed", k, v)
			}
		}
		if w, ok := want[k]; !ok {
			t.Errorf("%s %v is granted but not needed (update this test if a reconciler now needs it)", k, verbs)
		} else if !slices.Equal(w, got[k]) {
			t.Errorf("%s: verbs %v, want %v", k, got[k], w)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s is not granted", k)
		}
	}

	var secrets rbacv1.ClusterRole
	if err := cp.ReadRBAC("secret_reader_role.yaml", &secrets); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Rules) != 1 || !slices.Equal(secrets.Rules[0].Resources, []string{"secrets"}) || !slices.Equal(secrets.Rules[0].Verbs, []string{"get", "list", "watch"}) {
		t.Errorf("the secret reader role grants other than get, list and watch on secrets: %+v", secrets.Rules)
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "namespaces") && !slices.Equal(r.ResourceNames, []string{"kube-system"}) {
			t.Errorf("namespaces are readable beyond kube-system: %+v", r)
		}
	}

	var le rbacv1.Role
	if err := cp.ReadRBAC("leader_election_role.yaml", &le); err != nil {
		t.Fatal(err)
	}
	if le.Kind != "Role" {
		t.Errorf("leader election must be a namespaced Role, is %s", le.Kind)
	}
	for _, r := range le.Rules {
		for _, res := range r.Resources {
			if res != "leases" && res != "events" {
				t.Errorf("leader election role grants %s", res)
			}
		}
	}
	var auth rbacv1.ClusterRole
	if err := cp.ReadRBAC("metrics_auth_role.yaml", &auth); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Rules {
		if !slices.Equal(r.Verbs, []string{"create"}) || len(r.Resources) != 1 || (r.Resources[0] != "tokenreviews" && r.Resources[0] != "subjectaccessreviews") {
			t.Errorf("metrics auth role grants more than token and access reviews: %+v", r)
		}
	}
}
