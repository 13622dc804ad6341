package render

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// checkRBAC requires least privilege: no wildcards, no aggregation, Secrets only read.
func checkRBAC(t *testing.T, objs objects) {
	t.Helper()
	type role struct {
		name  string
		rules []rbacv1.PolicyRule
	}
	var roles []role
	for _, r := range typed[rbacv1.Role](t, objs, "Role") {
		roles = append(roles, role{"Role " + r.Namespace + "/" + r.Name, r.Rules})
	}
	for _, r := range typed[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		if r.AggregationRule != nil {
			t.Errorf("ClusterRole %s: aggregationRule grants whatever other roles hold", r.Name)
		}
		roles = append(roles, role{"ClusterRole " + r.Name, r.Rules})
	}
	readOnly := []string{"get", "list", "watch"}
	for _, r := range roles {
		for i, rule := range r.rules {
			for field, values := range map[string][]string{
				"apiGroups": rule.APIGroups, "resources": rule.Resources, "verbs": rule.Verbs,
				"resourceNames": rule.ResourceNames, "nonResourceURLs": rule.NonResourceURLs,
			} {
				for _, v := range values {
					if strings.Contains(v, "*") {
						t.Errorf("%s rule %d: wildcard %q in %s", r.name, i, v, field)
					}
				}
			}
			if slices.Contains(rule.APIGroups, "") && slices.Contains(rule.Resources, "secrets") {
				for _, v := range rule.Verbs {
					if !slices.Contains(readOnly, v) {
						t.Errorf("%s rule %d: verb %q on secrets; only %v are allowed", r.name, i, v, readOnly)
					}
				}
			}
		}
	}
}

// checkStatusWrites allows only the manager's ClusterRole to write the status of Talis objects:
// status steers the operator's Talis calls, so a tenant who could write it could forge them.
func checkStatusWrites(t *testing.T, objs objects) {
	t.Helper()
	for _, r := range typed[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		if !strings.HasSuffix(r.Name, "-manager-role") {
			for _, e := range statusWrites(r.Rules) {
				t.Errorf("ClusterRole %s %s", r.Name, e)
			}
		}
	}
	for _, r := range typed[rbacv1.Role](t, objs, "Role") {
		for _, e := range statusWrites(r.Rules) {
			t.Errorf("Role %s/%s %s", r.Namespace, r.Name, e)
		}
	}
}

// statusWrites describes the rules that reach the status of Talis objects with any verb but get:
// on <kind>/status, or on "*", "*/status" or "<kind>/*" in infra.talis.io or "*".
func statusWrites(rules []rbacv1.PolicyRule) []string {
	var out []string
	for i, rule := range rules {
		if !slices.Contains(rule.APIGroups, "infra.talis.io") && !slices.Contains(rule.APIGroups, "*") {
			continue
		}
		for _, res := range rule.Resources {
			allowed := []string{"get"} // all a status subresource serves besides writes
			switch {
			case res == "*" || strings.HasSuffix(res, "/*"):
				allowed = []string{"get", "list", "watch"}
			case !strings.HasSuffix(res, "/status"):
				continue
			}
			for _, v := range rule.Verbs {
				if !slices.Contains(allowed, v) {
					out = append(out, fmt.Sprintf("rule %d: verb %q on %q reaches the status of Talis objects, which only the manager may write", i, v, res))
				}
			}
		}
	}
	return out
}

// checkBindings requires every binding to name a rendered role and the rendered service account,
// and every Deployment to run as a rendered service account.
func checkBindings(t *testing.T, objs objects) {
	t.Helper()
	has := map[string]bool{}
	for _, o := range objs {
		has[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = true
	}
	checkSubjects := func(where string, subjects []rbacv1.Subject) {
		if len(subjects) == 0 {
			t.Errorf("%s: no subjects", where)
		}
		for _, s := range subjects {
			if s.Kind == rbacv1.ServiceAccountKind && !has["ServiceAccount "+s.Namespace+"/"+s.Name] {
				t.Errorf("%s: subject ServiceAccount %s/%s is not rendered", where, s.Namespace, s.Name)
			}
		}
	}
	for _, b := range typed[rbacv1.RoleBinding](t, objs, "RoleBinding") {
		where := "RoleBinding " + b.Namespace + "/" + b.Name
		ns := b.Namespace
		if b.RoleRef.Kind == "ClusterRole" {
			ns = ""
		}
		if !has[b.RoleRef.Kind+" "+ns+"/"+b.RoleRef.Name] {
			t.Errorf("%s: roleRef %s %s is not rendered", where, b.RoleRef.Kind, b.RoleRef.Name)
		}
		checkSubjects(where, b.Subjects)
	}
	for _, b := range typed[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding") {
		where := "ClusterRoleBinding " + b.Name
		if b.RoleRef.Kind != "ClusterRole" || !has["ClusterRole /"+b.RoleRef.Name] {
			t.Errorf("%s: roleRef %s %s is not rendered", where, b.RoleRef.Kind, b.RoleRef.Name)
		}
		checkSubjects(where, b.Subjects)
	}
	for _, d := range typed[appsv1.Deployment](t, objs, "Deployment") {
		sa := d.Spec.Template.Spec.ServiceAccountName
		if sa == "" || !has["ServiceAccount "+d.Namespace+"/"+sa] {
			t.Errorf("Deployment %s/%s: service account %q is not rendered", d.Namespace, d.Name, sa)
		}
	}
}
