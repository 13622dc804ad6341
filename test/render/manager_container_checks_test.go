package render

import (
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
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

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
