package render

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// secretGrants lists where objs let the manager's service account read Secrets: "cluster" for a
// ClusterRole bound cluster-wide, the namespace for a Role or a RoleBinding.
func secretGrants(t *testing.T, objs objects) []string {
	t.Helper()
	grantsSecrets := func(rules []rbacv1.PolicyRule) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, "") && (slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "*"))
		})
	}
	clusterRoles, roles := map[string]bool{}, map[string]bool{}
	for _, r := range typed[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		clusterRoles[r.Name] = grantsSecrets(r.Rules)
	}
	for _, r := range typed[rbacv1.Role](t, objs, "Role") {
		roles[r.Namespace+"/"+r.Name] = grantsSecrets(r.Rules)
	}
	var out []string
	for _, b := range typed[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding") {
		if clusterRoles[b.RoleRef.Name] {
			out = append(out, "cluster")
		}
	}
	for _, b := range typed[rbacv1.RoleBinding](t, objs, "RoleBinding") {
		if (b.RoleRef.Kind == "ClusterRole" && clusterRoles[b.RoleRef.Name]) || (b.RoleRef.Kind == "Role" && roles[b.Namespace+"/"+b.RoleRef.Name]) {
			out = append(out, b.Namespace)
		}
	}
	slices.Sort(out)
	return out
}

// TestSecretAccessFollowsWatchScope: watching some namespaces grants Secret reads in exactly
// those, and nothing cluster-wide; watching all keeps the cluster-wide grant.
func TestSecretAccessFollowsWatchScope(t *testing.T) {
	for _, c := range []struct {
		name string
		objs func(t *testing.T) objects
		want []string
	}{
		{"helm defaults", func(t *testing.T) objects { return helmTemplate(t) }, []string{"cluster"}},
		{"helm watchNamespaces", func(t *testing.T) objects {
			return helmTemplate(t, "--set", "watchNamespaces={team-a,team-b}")
		}, []string{"team-a", "team-b"}},
		{"helm full values", func(t *testing.T) objects {
			return helmTemplate(t, "-f", "test/render/testdata/values-full.yaml")
		}, []string{"team-a", "team-b"}},
		{"kustomize default", func(t *testing.T) objects { return kustomizeBuild(t, "config/default") }, []string{"cluster"}},
		{"kustomize watch-namespaces", func(t *testing.T) objects { return kustomizeBuild(t, "config/watch-namespaces") }, []string{"team-a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := c.objs(t)
			dryRun(t, objs)
			checkAll(t, objs)
			if got := secretGrants(t, objs); !slices.Equal(got, c.want) {
				t.Errorf("Secret reads granted in %v, want %v", got, c.want)
			}
			if c.want[0] != "cluster" {
				for _, a := range managerArgs(t, objs) {
					if a == "--watch-namespaces=team-a" || a == "--watch-namespaces=team-a,team-b" {
						return
					}
				}
				t.Errorf("the manager does not watch the namespaces it may read Secrets in: %v", managerArgs(t, objs))
			}
		})
	}
}
