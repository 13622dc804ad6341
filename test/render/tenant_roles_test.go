package render

import (
	"maps"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

const aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"

type tenantRole struct {
	grants      map[string][]string // resource in infra.talis.io → verbs, sorted
	aggregateTo []string            // built-in ClusterRoles that include it
}

var (
	editVerbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	readVerbs = []string{"get", "list", "watch"}

	// tenantRoles are the ClusterRoles for tenants, without the name prefix. Status is only read.
	tenantRoles = map[string]tenantRole{
		"talisproject-editor-role": {
			grants:      map[string][]string{"talisprojects": editVerbs, "talisprojects/status": {"get"}},
			aggregateTo: []string{"admin", "edit"},
		},
		"talisproject-viewer-role": {
			grants:      map[string][]string{"talisprojects": readVerbs, "talisprojects/status": {"get"}},
			aggregateTo: []string{"view"},
		},
		"talisinstanceset-editor-role": {
			grants: map[string][]string{"talisinstancesets": editVerbs, "talisinstancesets/status": {"get"},
				"talisinstancesets/scale": {"get", "patch", "update"}},
			aggregateTo: []string{"admin", "edit"},
		},
		"talisinstanceset-viewer-role": {
			grants:      map[string][]string{"talisinstancesets": readVerbs, "talisinstancesets/status": {"get"}},
			aggregateTo: []string{"view"},
		},
	}
)

// TestTenantRoles checks the tenant ClusterRoles of both renderers: exactly the rules above, no
// status writes (checkAll walks every role but the manager's), and the aggregation labels unless
// the chart is told to leave them off.
func TestTenantRoles(t *testing.T) {
	for _, c := range []struct {
		name      string
		objs      func(t *testing.T) objects
		present   bool
		aggregate bool
	}{
		{"kustomize", func(t *testing.T) objects { return kustomizeBuild(t, "config/default") }, true, true},
		{"helm", func(t *testing.T) objects { return helmTemplate(t) }, true, true},
		{"helm not aggregated", func(t *testing.T) objects {
			return helmTemplate(t, "--set", "rbac.tenantRoles.aggregate=false")
		}, true, false},
		{"helm without tenant roles", func(t *testing.T) objects {
			return helmTemplate(t, "--set", "rbac.tenantRoles.create=false")
		}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := c.objs(t)
			dryRun(t, objs)
			checkAll(t, objs)
			roles := map[string]*rbacv1.ClusterRole{}
			for _, r := range typed[rbacv1.ClusterRole](t, objs, "ClusterRole") {
				roles[r.Name] = r
			}
			for _, short := range slices.Sorted(maps.Keys(tenantRoles)) {
				want, full := tenantRoles[short], "talis-operator-"+short
				r, ok := roles[full]
				if !c.present {
					if ok {
						t.Errorf("ClusterRole %s rendered with rbac.tenantRoles.create=false", full)
					}
					continue
				}
				if !ok {
					t.Errorf("ClusterRole %s not rendered", full)
					continue
				}
				if got := grants(t, full, r.Rules); !equalGrants(got, want.grants) {
					t.Errorf("ClusterRole %s grants %v, want %v", full, got, want.grants)
				}
				var aggregated []string
				for k, v := range r.Labels {
					if to, ok := strings.CutPrefix(k, aggregateLabel); ok && v == "true" {
						aggregated = append(aggregated, to)
					}
				}
				slices.Sort(aggregated)
				wantAggregated := want.aggregateTo
				if !c.aggregate {
					wantAggregated = nil
				}
				if !slices.Equal(aggregated, wantAggregated) {
					t.Errorf("ClusterRole %s is aggregated into %v, want %v", full, aggregated, wantAggregated)
				}
			}
		})
	}
}

// grants flattens rules into resource → sorted verbs; rules outside infra.talis.io fail.
func grants(t *testing.T, where string, rules []rbacv1.PolicyRule) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for i, r := range rules {
		if !slices.Equal(r.APIGroups, []string{"infra.talis.io"}) || len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s rule %d: want a rule on infra.talis.io resources only: %+v", where, i, r)
		}
		for _, res := range r.Resources {
			out[res] = append(out[res], r.Verbs...)
		}
	}
	for res, verbs := range out {
		slices.Sort(verbs)
		out[res] = slices.Compact(verbs)
	}
	return out
}

func equalGrants(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// TestStatusWriteCheck: the check catches the ways a role can reach status, wildcards included,
// and lets reads through.
func TestStatusWriteCheck(t *testing.T) {
	rule := func(groups, resources []string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
	}
	talis, all := []string{"infra.talis.io"}, []string{"*"}
	for _, c := range []struct {
		rule  rbacv1.PolicyRule
		write bool
	}{
		{rule(talis, []string{"talisprojects/status"}, "get"), false},
		{rule(talis, []string{"*"}, "get", "list", "watch"), false},
		{rule(talis, []string{"talisinstancesets", "talisinstancesets/scale"}, "update", "patch"), false},
		{rule([]string{"apps"}, []string{"*"}, "*"), false},
		{rule(talis, []string{"talisprojects/status"}, "update"), true},
		{rule(talis, []string{"talisinstancesets/status"}, "patch"), true},
		{rule(talis, []string{"talisprojects/status"}, "*"), true},
		{rule(talis, []string{"*"}, "create", "update"), true},
		{rule(talis, []string{"*/status"}, "patch"), true},
		{rule(talis, []string{"talisinstancesets/*"}, "update"), true},
		{rule(all, []string{"*"}, "*"), true},
	} {
		if got := len(statusWrites([]rbacv1.PolicyRule{c.rule})) > 0; got != c.write {
			t.Errorf("%+v: found a status write %v, want %v", c.rule, got, c.write)
		}
	}
}
