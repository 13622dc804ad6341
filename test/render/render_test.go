package render

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
)

const chart = "charts/talis-operator"

func TestKustomizeDefault(t *testing.T) {
	g := NewWithT(t)
	objs := kustomizeBuild(t, "config/default")
	dryRun(t, objs)
	checkAll(t, objs)

	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace" {
			continue
		}
		g.Expect(o.GetName()).To(HavePrefix("talis-operator-"), name(o))
	}
	g.Expect(objs.ofKind("Namespace")).To(HaveLen(1))
	g.Expect(objs.ofKind("Namespace")[0].GetName()).To(Equal("talis-operator-system"))
	g.Expect(objs.ofKind("CustomResourceDefinition")).To(HaveLen(2))
	g.Expect(managerArgs(t, objs)).To(ContainElements(
		"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081"))
}

// TestKustomizeOptionalComponents builds config/default with its commented-out [PROMETHEUS] and
// [NETWORK POLICY] lines enabled, as a user would.
func TestKustomizeOptionalComponents(t *testing.T) {
	g := NewWithT(t)
	tmp := t.TempDir()
	g.Expect(os.CopyFS(filepath.Join(tmp, "config"), os.DirFS(filepath.Join(repoRoot, "config")))).To(Succeed())
	path := filepath.Join(tmp, "config", "default", "kustomization.yaml")
	k, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	enabled := string(k)
	for _, line := range []string{"#- ../prometheus", "#- ../network-policy"} {
		g.Expect(enabled).To(ContainSubstring(line))
		enabled = strings.Replace(enabled, line, line[1:], 1)
	}
	g.Expect(os.WriteFile(path, []byte(enabled), 0o644)).To(Succeed())

	objs := kustomizeBuild(t, filepath.Join(tmp, "config", "default"))
	dryRun(t, objs)
	checkAll(t, objs)
	g.Expect(objs.ofKind("ServiceMonitor")).To(HaveLen(1))
	g.Expect(objs.ofKind("NetworkPolicy")).To(HaveLen(1))
	g.Expect(objs.ofKind("PrometheusRule")).To(HaveLen(1))
	checkDashboardConfigMap(t, objs, "talis-operator-system")
}

func TestSamples(t *testing.T) {
	g := NewWithT(t)
	objs := kustomizeBuild(t, "config/samples")
	// No namespace of their own: `kubectl apply -k` puts them in the current one, and the demo
	// applies them with -n into its own (a deleted Talis project's name is reserved forever).
	for _, o := range objs {
		g.Expect(o.GetNamespace()).To(BeEmpty(), "sample %s/%s sets metadata.namespace", o.GetKind(), o.GetName())
		o.SetNamespace("default")
	}
	dryRun(t, objs)

	projects, sets := objs.ofKind("TalisProject"), objs.ofKind("TalisInstanceSet")
	g.Expect(projects).To(HaveLen(1))
	g.Expect(sets).To(HaveLen(1))
	g.Expect(sets[0].GetNamespace()).To(Equal(projects[0].GetNamespace()))
	g.Expect(sets[0].Object).To(HaveKeyWithValue("spec",
		HaveKeyWithValue("projectRef", HaveKeyWithValue("name", projects[0].GetName()))))
}

// helmCase is one set of chart values and what the rendering must show for it.
type helmCase struct {
	name           string
	args           []string // -f / --set
	wantArgs       []string
	unwantedArgs   []string
	serviceMonitor bool
}

var helmCases = []helmCase{
	{
		name:         "defaults",
		wantArgs:     []string{"--leader-elect", "--metrics-bind-address=:8443", "--metrics-secure=true", "--health-probe-bind-address=:8081"},
		unwantedArgs: []string{"--talis-ca-file", "--watch-namespaces", "--default-owner-id", "--allowed-talis-urls", "--cluster-id"},
	},
	{
		name: "full",
		args: []string{"-f", "test/render/testdata/values-full.yaml"},
		wantArgs: []string{"--leader-elect", "--metrics-bind-address=:9443", "--watch-namespaces=team-a,team-b",
			"--default-owner-id=4294967295", "--talis-ca-file=/etc/talis-operator/ca/bundle.pem", "--concurrency=4", "--resync-period=10m",
			"--allowed-talis-urls=https://talis-b.example.com,https://talis-c.example.com/talis", "--cluster-id=prod-eu-1"},
		serviceMonitor: true,
	},
	{
		name:           "minimal",
		args:           []string{"-f", "test/render/testdata/values-minimal.yaml"},
		wantArgs:       []string{"--metrics-secure=false", "--talis-ca-file=/etc/talis-operator/ca/ca.crt"},
		unwantedArgs:   []string{"--leader-elect"},
		serviceMonitor: true,
	},
	{
		name:           "monitoring",
		args:           monitoringValues,
		wantArgs:       []string{"--metrics-secure=true"},
		serviceMonitor: true,
	},
	{
		name:     "features",
		args:     []string{"-f", "test/render/testdata/values-features.yaml"},
		wantArgs: []string{"--leader-elect"},
	},
	{
		name:         "metrics-off",
		args:         []string{"--set", "metrics.enabled=false"},
		wantArgs:     []string{"--metrics-bind-address=0"},
		unwantedArgs: []string{"--metrics-secure"},
	},
}

func TestHelmLint(t *testing.T) {
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			run(t, helmEnv, helm, append([]string{"lint", "--strict", chart}, c.args...)...)
		})
	}
}

func TestHelmTemplate(t *testing.T) {
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			objs := helmTemplate(t, c.args...)
			dryRun(t, objs)
			checkAll(t, objs)

			args := managerArgs(t, objs)
			g.Expect(args).To(ContainElements(c.wantArgs))
			for _, unwanted := range c.unwantedArgs {
				g.Expect(args).NotTo(ContainElement(HavePrefix(unwanted)))
			}
			if c.serviceMonitor {
				g.Expect(objs.ofKind("ServiceMonitor")).To(HaveLen(1))
			} else {
				g.Expect(objs.ofKind("ServiceMonitor")).To(BeEmpty())
			}
			g.Expect(objs.ofKind("CustomResourceDefinition")).To(HaveLen(2))
		})
	}
}

// TestHelmRBACMatchesKustomize keeps the chart's roles equal to config/: the manager's ClusterRole
// to the one controller-gen generates, and every other role to its kustomize twin.
func TestHelmRBACMatchesKustomize(t *testing.T) {
	g := NewWithT(t)
	helmObjs := helmTemplate(t)
	generated := typed[rbacv1.ClusterRole](t, readObjects(t, "config/rbac/role.yaml"), "ClusterRole")
	g.Expect(generated).To(HaveLen(1))

	rules := func(objs objects) map[string][]rbacv1.PolicyRule {
		out := map[string][]rbacv1.PolicyRule{}
		for _, r := range typed[rbacv1.ClusterRole](t, objs, "ClusterRole") {
			out["ClusterRole "+r.Name] = r.Rules
		}
		for _, r := range typed[rbacv1.Role](t, objs, "Role") {
			out["Role "+r.Name] = r.Rules
		}
		return out
	}
	fromHelm := rules(helmObjs)
	g.Expect(fromHelm).To(HaveKey("ClusterRole talis-operator-manager-role"))
	g.Expect(fromHelm["ClusterRole talis-operator-manager-role"]).To(Equal(generated[0].Rules),
		"the chart's manager ClusterRole (charts/talis-operator/templates/clusterrole.yaml) differs from config/rbac/role.yaml: copy the rules over")
	g.Expect(fromHelm).To(Equal(rules(kustomizeBuild(t, "config/default"))),
		"the chart's roles differ from config/rbac")
}

func TestChartCRDsMatchGenerated(t *testing.T) {
	g := NewWithT(t)
	read := func(dir string) map[string][]byte {
		entries, err := os.ReadDir(filepath.Join(repoRoot, dir))
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string][]byte{}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") {
				b, err := os.ReadFile(filepath.Join(repoRoot, dir, e.Name()))
				g.Expect(err).NotTo(HaveOccurred())
				out[e.Name()] = b
			}
		}
		return out
	}
	bases, crds := read("config/crd/bases"), read(chart+"/crds")
	g.Expect(bases).NotTo(BeEmpty())
	g.Expect(slices.Sorted(maps.Keys(crds))).To(Equal(slices.Sorted(maps.Keys(bases))),
		"charts/talis-operator/crds holds other files than config/crd/bases: run `make helm-crds`")
	for file, b := range bases {
		if !bytes.Equal(crds[file], b) {
			t.Errorf("charts/talis-operator/crds/%s differs from config/crd/bases: run `make helm-crds`", file)
		}
	}
}
