package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// checkAll runs every structural check that holds for any rendering.
func checkAll(t *testing.T, objs objects) {
	t.Helper()
	checkPodSecurity(t, objs)
	checkRBAC(t, objs)
	checkStatusWrites(t, objs)
	checkBindings(t, objs)
	checkServices(t, objs)
	checkServiceMonitors(t, objs)
	checkNetworkPolicies(t, objs)
	checkManagerContainer(t, objs)
	checkGoMemLimit(t, objs)
}

// checkPodSecurity requires the "restricted" Pod Security Standard's container settings, taking
// pod-level defaults into account.
func checkPodSecurity(t *testing.T, objs objects) {
	t.Helper()
	deps := typed[appsv1.Deployment](t, objs, "Deployment")
	if len(deps) == 0 {
		t.Error("no Deployment rendered")
	}
	for _, d := range deps {
		pod := d.Spec.Template.Spec
		psc := pod.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Errorf("Deployment %s/%s uses host namespaces", d.Namespace, d.Name)
		}
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			where := fmt.Sprintf("Deployment %s/%s container %s", d.Namespace, d.Name, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			if !deref(first(sc.RunAsNonRoot, psc.RunAsNonRoot)) {
				t.Errorf("%s: runAsNonRoot is not true", where)
			}
			if u := first(sc.RunAsUser, psc.RunAsUser); u != nil && *u == 0 {
				t.Errorf("%s: runs as user 0", where)
			}
			if !deref(sc.ReadOnlyRootFilesystem) {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if deref(sc.Privileged) {
				t.Errorf("%s: privileged", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: capabilities do not drop ALL", where)
			} else if len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: adds capabilities %v", where, sc.Capabilities.Add)
			}
			sp := first(sc.SeccompProfile, psc.SeccompProfile)
			if sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
			}
		}
	}
}

func first[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func deref(p *bool) bool { return p != nil && *p }

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

// podsSelectedBy returns the Deployments in namespace ns whose pods match selector.
func podsSelectedBy(t *testing.T, objs objects, ns string, selector labels.Selector) []*appsv1.Deployment {
	t.Helper()
	var out []*appsv1.Deployment
	for _, d := range typed[appsv1.Deployment](t, objs, "Deployment") {
		if d.Namespace == ns && !selector.Empty() && selector.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

// containerPort resolves a numeric or named port of a pod.
func containerPort(pod corev1.PodSpec, port intstr.IntOrString) (int32, bool) {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if (port.Type == intstr.Int && p.ContainerPort == port.IntVal) || (port.Type == intstr.String && p.Name == port.StrVal) {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// checkServices requires every Service to select the manager's pods on a port they expose.
func checkServices(t *testing.T, objs objects) {
	t.Helper()
	for _, s := range typed[corev1.Service](t, objs, "Service") {
		where := "Service " + s.Namespace + "/" + s.Name
		deps := podsSelectedBy(t, objs, s.Namespace, labels.SelectorFromSet(s.Spec.Selector))
		if len(deps) == 0 {
			t.Errorf("%s: selector %v matches no rendered pods", where, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if _, ok := containerPort(deps[0].Spec.Template.Spec, target); !ok {
				t.Errorf("%s: port %s targets %s, which the pods do not expose", where, p.Name, target.String())
			}
		}
	}
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor that we render;
// decoding is strict, so a misspelt field fails.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Endpoints []struct {
			Path            string         `json:"path"`
			Port            string         `json:"port"`
			Scheme          string         `json:"scheme"`
			Interval        string         `json:"interval,omitempty"`
			BearerTokenFile string         `json:"bearerTokenFile,omitempty"`
			TLSConfig       map[string]any `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Selector metav1.LabelSelector `json:"selector"`
	} `json:"spec"`
}

// checkServiceMonitors parses ServiceMonitors (their CRD is not in the test apiserver) and
// requires them to scrape a rendered Service's port with a matching scheme.
func checkServiceMonitors(t *testing.T, objs objects) {
	t.Helper()
	services := typed[corev1.Service](t, objs, "Service")
	for _, o := range objs.ofKind("ServiceMonitor") {
		where := name(o)
		if o.GetAPIVersion() != "monitoring.coreos.com/v1" {
			t.Errorf("%s: apiVersion %s, want monitoring.coreos.com/v1", where, o.GetAPIVersion())
		}
		j, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var sm serviceMonitor
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sm); err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("%s: bad or empty selector: %v", where, err)
			continue
		}
		var svc *corev1.Service
		for _, s := range services {
			inScope := s.Namespace == o.GetNamespace()
			if ns := sm.Spec.NamespaceSelector; ns != nil && (ns.Any || len(ns.MatchNames) > 0) {
				inScope = ns.Any || slices.Contains(ns.MatchNames, s.Namespace)
			}
			if inScope && sel.Matches(labels.Set(s.Labels)) {
				svc = s
			}
		}
		if svc == nil {
			t.Errorf("%s: selects no rendered Service", where)
			continue
		}
		if len(sm.Spec.Endpoints) == 0 {
			t.Errorf("%s: no endpoints", where)
		}
		for _, ep := range sm.Spec.Endpoints {
			i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port })
			if i < 0 {
				t.Errorf("%s: port %q is not a port of Service %s", where, ep.Port, svc.Name)
				continue
			}
			if secure := svc.Spec.Ports[i].Name == "https"; secure != (ep.Scheme == "https") {
				t.Errorf("%s: scheme %q does not fit Service port %q", where, ep.Scheme, svc.Spec.Ports[i].Name)
			}
			if ep.Scheme == "https" && (ep.BearerTokenFile == "" || ep.TLSConfig == nil) {
				t.Errorf("%s: https scrape needs a bearer token and a tlsConfig", where)
			}
			if ep.Path != "/metrics" {
				t.Errorf("%s: path %q, want /metrics", where, ep.Path)
			}
		}
	}
}

// checkNetworkPolicies requires each policy to select the manager's pods and admit a port they expose.
func checkNetworkPolicies(t *testing.T, objs objects) {
	t.Helper()
	for _, np := range typed[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy") {
		where := "NetworkPolicy " + np.Namespace + "/" + np.Name
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		deps := podsSelectedBy(t, objs, np.Namespace, sel)
		if len(deps) == 0 {
			t.Errorf("%s: podSelector matches no rendered pods", where)
			continue
		}
		for _, in := range np.Spec.Ingress {
			for _, p := range in.Ports {
				if p.Port == nil {
					continue
				}
				if _, ok := containerPort(deps[0].Spec.Template.Spec, *p.Port); !ok {
					t.Errorf("%s: admits port %s, which the pods do not expose", where, p.Port.String())
				}
			}
		}
	}
}

// managerFlags are the flags the manager defines: found in cmd/manager's source, plus zap's.
func managerFlags(t *testing.T) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	fs := flag.NewFlagSet("zap", flag.ContinueOnError)
	(&zap.Options{}).BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = true })

	dir := filepath.Join(repoRoot, "cmd", "manager")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// fs.StringVar(&v, "name", ...) names the flag in its second argument, fs.String("name", ...) in its first.
			arg := -1
			switch m := sel.Sel.Name; {
			case strings.HasSuffix(m, "Var"):
				arg = 1
			case slices.Contains([]string{"String", "Bool", "Int", "Int64", "Uint", "Uint64", "Float64", "Duration", "Func", "BoolFunc"}, m):
				arg = 0
			}
			if arg < 0 || len(call.Args) <= arg {
				return true
			}
			if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					flags[s] = true
					found++
				}
			}
			return true
		})
	}
	if found == 0 {
		t.Fatalf("found no flag definitions in %s", dir)
	}
	return flags
}

// checkManagerContainer requires the manager's arguments to be flags it knows, its probes to
// reach the probe address it is given, and secrets never to appear as literal env values.
func checkManagerContainer(t *testing.T, objs objects) {
	t.Helper()
	known := managerFlags(t)
	for _, d := range typed[appsv1.Deployment](t, objs, "Deployment") {
		c := manager(t, d)
		if c == nil {
			continue
		}
		where := fmt.Sprintf("Deployment %s/%s container %s", d.Namespace, d.Name, c.Name)
		probeAddr := ":8081"
		for _, a := range slices.Concat(c.Command[1:], c.Args) {
			flagName, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || !known[flagName] {
				t.Errorf("%s: argument %q is not a manager flag", where, a)
			}
			if flagName == "health-probe-bind-address" {
				probeAddr = value
			}
		}
		_, port, _ := strings.Cut(probeAddr, ":")
		for path, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path {
				t.Errorf("%s: no HTTP probe of %s", where, path)
				continue
			}
			got, ok := containerPort(d.Spec.Template.Spec, probe.HTTPGet.Port)
			if probe.HTTPGet.Port.Type == intstr.Int {
				got, ok = probe.HTTPGet.Port.IntVal, true
			}
			if !ok || strconv.Itoa(int(got)) != port {
				t.Errorf("%s: probe of %s uses port %s, but the probes listen on %s", where, path, probe.HTTPGet.Port.String(), probeAddr)
			}
		}
		for _, e := range c.Env {
			upper := strings.ToUpper(e.Name)
			secretish := strings.Contains(upper, "KEY") || strings.Contains(upper, "TOKEN") || strings.Contains(upper, "PASSWORD")
			if secretish && e.Value != "" {
				t.Errorf("%s: env %s holds a literal value; use a secretKeyRef", where, e.Name)
			}
			if e.Name == "TALIS_API_KEY" {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || !deref(e.ValueFrom.SecretKeyRef.Optional) {
					t.Errorf("%s: TALIS_API_KEY must come from an optional secretKeyRef", where)
				}
			}
		}
		if c.Resources.Requests == nil || c.Resources.Limits == nil {
			t.Errorf("%s: resource requests and limits must be set", where)
		}
	}
}

// manager returns the manager container of a Deployment.
func manager(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			if len(c.Command) == 0 || c.Command[0] != "/manager" {
				t.Errorf("Deployment %s/%s: manager command %v, want [/manager]", d.Namespace, d.Name, c.Command)
				return nil
			}
			return &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Errorf("Deployment %s/%s: no container named manager", d.Namespace, d.Name)
	return nil
}

// managerArgs returns the manager container's arguments of the only Deployment.
func managerArgs(t *testing.T, objs objects) []string {
	t.Helper()
	deps := typed[appsv1.Deployment](t, objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(deps))
	}
	c := manager(t, deps[0])
	if c == nil {
		t.FailNow()
	}
	return c.Args
}
