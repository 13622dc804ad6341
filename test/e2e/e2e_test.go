//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	image       = "localhost/talis-operator:e2e"
	helmNS      = "talis-operator-system" // the README's quickstart
	release     = "talis-operator"        // the chart's fullname is then "talis-operator"
	manager     = "talis-operator-controller-manager"
	leaseName   = "talis-operator.infra.talis.io"
	kustomizeNS = "talis-operator-system"
)

// TestE2E walks the operator's install paths in order on one node: the emulator, the README's Helm
// quickstart as printed (probes, security context, samples, the demo's and the README's commands,
// scale, metrics, an HPA, leader failover, the README's uninstall), then kustomize's config/default.
// Each step needs the one before, so the first failure stops the walk.
func TestE2E(t *testing.T) {
	e := loadEnv(t)
	talisURL := e.emulator(t)
	steps := []struct {
		name string
		f    func(*testing.T)
	}{
		{"ReadmeHelmQuickstart", func(t *testing.T) { e.readmeQuickstart(t, talisURL) }},
		{"HelmUpgradeTwoReplicas", func(t *testing.T) { e.helmTwoReplicas(t) }},
		{"ReadmeHelmUpgrade", func(t *testing.T) { e.readmeHelmUpgrade(t) }},
		{"PodsReadyReadOnlyNonRoot", func(t *testing.T) { e.checkPods(t, helmNS) }},
		{"DemoPrintedCommands", func(t *testing.T) { e.demoCommands(t, talisURL) }},
		{"ReadmeDayToDay", func(t *testing.T) { e.readmeDayToDay(t, talisURL) }},
		{"MetricsThroughService", func(t *testing.T) {
			e.metrics(t, "helm", helmNS, release+"-metrics-service", release+"-metrics-reader")
		}},
		{"HPAScalesSet", func(t *testing.T) { e.hpa(t, talisURL) }},
		{"LeaderDeletedMidScale", func(t *testing.T) { e.leaderFailover(t, talisURL) }},
		{"ReadmeHelmUninstall", func(t *testing.T) { e.helmUninstall(t, talisURL) }},
		{"KustomizeDefault", func(t *testing.T) { e.kustomizeDefault(t, talisURL) }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.f) {
			t.FailNow()
		}
	}
}

// emulator runs the Talis emulator as a pod and returns its Service URL. The node runs no DNS, so
// the manager gets the Service's ClusterIP rather than its name.
func (e env) emulator(t *testing.T) string {
	e.k(t, "apply", "-f", filepath.Join(e.root, "test/e2e/testdata/emulator.yaml"))
	e.k(t, "-n", "talis-e2e", "rollout", "status", "deploy/talis-emulator", "--timeout=3m")
	url := "http://" + e.k(t, "-n", "talis-e2e", "get", "svc", "talis-emulator", "-o", "jsonpath={.spec.clusterIP}")
	eventually(t, time.Minute, "emulator /health through its Service", func() error {
		code, _, err := get(url+"/health", "")
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	return url
}

// readmeQuickstart runs the README's Helm quickstart as printed, with its placeholders filled in:
// the emulator's URL, any API key (the emulator takes every key) and the e2e's image.
func (e env) readmeQuickstart(t *testing.T, talisURL string) {
	repo, tag, _ := strings.Cut(image, ":")
	block, err := readmeBlock(e.root, "helm-quickstart")
	if err != nil {
		t.Fatal(err)
	}
	block = fill(t, block, map[string]string{"<key>": "e2e-key", "https://talis.example.com/talis": talisURL,
		"<registry>/talis-operator": repo, "<tag>": tag})
	var out string
	for _, c := range commands(block) {
		out = e.shell(t, "", c)
	}
	watched(t, out, "NAME PROJECT DESIRED READY", "web")
	s := e.waitSetReady(t, "default", "web", 3)
	checkLedger(t, talisURL, s.Status.ProjectName, 3)
}

// helmTwoReplicas adds a standby manager for the leader failover step.
func (e env) helmTwoReplicas(t *testing.T) {
	e.h(t, "upgrade", release, filepath.Join(e.root, "charts/talis-operator"), "-n", helmNS, "--reuse-values",
		"--set", "replicaCount=2", "--wait", "--timeout", "4m")
}

// readmeHelmUpgrade runs the README's upgrade block as printed: the CRDs applied server-side over
// the ones Helm created, then an upgrade that keeps the values set so far (two replicas).
func (e env) readmeHelmUpgrade(t *testing.T) {
	for _, c := range e.readme(t, "helm-upgrade") {
		e.shell(t, "", c)
	}
	for _, crd := range []string{"talisprojects.infra.talis.io", "talisinstancesets.infra.talis.io"} {
		managers := e.k(t, "get", "crd", crd, "-o", "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}")
		if !strings.Contains(managers, "kubectl/Apply") {
			t.Errorf("CRD %s: fields managed by %q, want kubectl's server-side apply among them", crd, managers)
		}
	}
	if got := e.k(t, "-n", helmNS, "get", "deploy", manager, "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("after helm upgrade --reset-then-reuse-values: %s replicas, want the 2 set before", got)
	}
}

// checkPods waits for the manager's pods to pass their readiness probes, then checks each process.
func (e env) checkPods(t *testing.T, ns string) {
	e.k(t, "-n", ns, "rollout", "status", "deploy/"+manager, "--timeout=3m")
	var pods struct{ Items []pod }
	e.getJSON(t, &pods, "-n", ns, "pods", "-l", "app.kubernetes.io/name=talis-operator")
	if len(pods.Items) == 0 {
		t.Fatal("no manager pods")
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			if !c.Ready || c.RestartCount != 0 {
				t.Errorf("pod %s: container %s ready=%v restarts=%d", p.Metadata.Name, c.Name, c.Ready, c.RestartCount)
			}
		}
		e.checkProcess(t, p)
	}
}

// demoCommands runs what `make demo KEEP=1` prints, as printed, against the node: the kubeconfig
// and Talis URL it fills in are the node's and the emulator's.
func (e env) demoCommands(t *testing.T, talisURL string) {
	raw, err := os.ReadFile(filepath.Join(e.root, "hack/demo/try.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := fill(t, string(raw), map[string]string{"{{.Kubeconfig}}": e.kubeconfig, "{{.TalisURL}}": talisURL})
	prelude, ran := "", 0
	for _, l := range strings.Split(text, "\n") {
		c, ok := strings.CutPrefix(l, "  ")
		switch {
		case !ok:
		case strings.HasPrefix(c, "export "):
			prelude += c + "\n"
		default:
			out := e.shell(t, prelude, c)
			ran++
			switch {
			case strings.Contains(c, "get talisinstancesets -o wide -w"):
				watched(t, out, "NAME PROJECT DESIRED READY", "web")
			case strings.Contains(c, "/emulator/ledger"):
				if !strings.HasPrefix(out, "[") {
					t.Errorf("the ledger is not a JSON list: %.200s", out)
				}
			}
		}
	}
	if ran < 2 {
		t.Fatalf("hack/demo/try.txt printed %d commands:\n%s", ran, text)
	}
	e.waitSetReady(t, "default", "web", 3)
}

// readmeDayToDay runs the README's day-to-day block: scale to 5, wait, events, list.
func (e env) readmeDayToDay(t *testing.T, talisURL string) {
	var events, list string
	for _, c := range e.readme(t, "day-to-day") {
		out := e.shell(t, "", c)
		switch {
		case strings.HasPrefix(c, "kubectl events "):
			events = out
		case strings.HasPrefix(c, "kubectl get talis "):
			list = out
		}
	}
	s := e.waitSetReady(t, "default", "web", 5)
	checkLedger(t, talisURL, s.Status.ProjectName, 5)
	// A create is told with the change it causes (Creating: "…; created 2 instance(s) in Talis …").
	if !contains(events, "instance(s) in Talis") || !contains(strings.ToLower(events), "talisinstanceset/web") {
		t.Errorf("kubectl events --for talisinstanceset/web shows no event of the set's creates:\n%s", events)
	}
	if !contains(list, "talisproject.infra.talis.io/demo") || !contains(list, "talisinstanceset.infra.talis.io/web") {
		t.Errorf("kubectl get talis does not list both kinds:\n%s", list)
	}
	e.readmeFleetOutputs(t, s)
}

// readmeFleetOutputs runs the README's fleet-outputs block: the sample set's inventory, written to
// inventory.yaml in the working directory (the repository root here, so it is removed after).
func (e env) readmeFleetOutputs(t *testing.T, s instanceSet) {
	inventory := filepath.Join(e.root, "inventory.yaml")
	defer os.Remove(inventory)
	eventually(t, time.Minute, "the outputs ConfigMap lists every ready instance", func() error {
		for _, c := range e.readme(t, "fleet-outputs") {
			e.shell(t, "", c)
		}
		b, err := os.ReadFile(inventory)
		if err != nil {
			return err
		}
		for _, ip := range s.Status.PublicIPs {
			if !contains(string(b), ip) {
				return fmt.Errorf("inventory.yaml lacks %s:\n%s", ip, b)
			}
		}
		return nil
	})
}

// metrics scrapes the manager through its metrics Service with ServiceAccount tokens; install names
// the install path, so each gets its own accounts.
func (e env) metrics(t *testing.T, install, ns, svc, readerRole string) {
	e.k(t, "-n", "talis-e2e", "create", "serviceaccount", "scraper-"+install)
	e.k(t, "-n", "talis-e2e", "create", "serviceaccount", "nobody-"+install)
	e.k(t, "create", "clusterrolebinding", "e2e-scraper-"+install, "--clusterrole", readerRole, "--serviceaccount", "talis-e2e:scraper-"+install)
	reader := e.k(t, "-n", "talis-e2e", "create", "token", "scraper-"+install)
	nobody := e.k(t, "-n", "talis-e2e", "create", "token", "nobody-"+install)
	ip := e.k(t, "-n", ns, "get", "svc", svc, "-o", "jsonpath={.spec.clusterIP}")
	checkMetrics(t, "https://"+ip+":8443/metrics", reader, nobody)
}

// leaderFailover scales the set and deletes the leader's pod while creates are in flight: the other
// replica takes the lease, finishes the scale, and Talis has exactly one instance per replica.
func (e env) leaderFailover(t *testing.T, talisURL string) {
	leader := e.leaderPod(t)
	var before instanceSet
	e.getJSON(t, &before, "-n", "default", "talisinstanceset", "web")
	e.k(t, "-n", "default", "scale", "talisinstanceset/web", "--replicas=8")
	eventually(t, time.Minute, "a create of the scale-up in Talis", func() error {
		if n := len(ledger(t, talisURL, before.Status.ProjectName)); n <= 5 {
			return fmt.Errorf("%d instances", n)
		}
		return nil
	})
	var mid instanceSet
	e.getJSON(t, &mid, "-n", "default", "talisinstanceset", "web")
	if mid.Status.ReadyReplicas >= 8 {
		t.Fatalf("the scale finished before the leader could be deleted (ready %d)", mid.Status.ReadyReplicas)
	}
	t.Logf("deleting leader pod %s with %d of 8 ready", leader, mid.Status.ReadyReplicas)
	e.k(t, "-n", helmNS, "delete", "pod", leader, "--wait=false")
	eventually(t, 2*time.Minute, "another pod holding the lease", func() error {
		if p := e.leaderPod(t); p == leader || p == "" {
			return fmt.Errorf("holder %q", p)
		}
		return nil
	})
	s := e.waitSetReady(t, "default", "web", 8)
	checkLedger(t, talisURL, s.Status.ProjectName, 8)
	e.k(t, "-n", helmNS, "rollout", "status", "deploy/"+manager, "--timeout=3m")
}

// leaderPod is the pod named by the lease's holder identity ("<pod>_<uuid>").
func (e env) leaderPod(t *testing.T) string {
	h, err := e.kTry("-n", helmNS, "get", "lease", leaseName, "-o", "jsonpath={.spec.holderIdentity}")
	if err != nil {
		return ""
	}
	p, _, _ := strings.Cut(h, "_")
	return p
}

// helmUninstall runs the README's uninstall block as printed: the Talis objects are deleted while
// the manager still runs (its finalizers terminate the instances), then the chart, then the CRDs
// (which Helm alone never deletes: checked before the last command).
func (e env) helmUninstall(t *testing.T, talisURL string) {
	var s instanceSet
	e.getJSON(t, &s, "-n", "default", "talisinstanceset", "web")
	cmds := e.readme(t, "helm-uninstall")
	for i, c := range cmds {
		if i == len(cmds)-1 {
			if !strings.HasPrefix(c, "kubectl delete crd ") {
				t.Fatalf("the README's uninstall block no longer ends by deleting the CRDs: %q", c)
			}
			e.k(t, "get", "crd", "talisinstancesets.infra.talis.io", "talisprojects.infra.talis.io")
		}
		e.shell(t, "", c)
		if strings.HasPrefix(c, "kubectl delete talisinstancesets,talisprojects ") {
			for _, l := range ledger(t, talisURL, s.Status.ProjectName) {
				if l.Status != "terminated" {
					t.Errorf("instance %d (%s) is %s after its set was deleted", l.ID, l.Name, l.Status)
				}
			}
		}
	}
	eventually(t, 2*time.Minute, "the manager's pods gone", func() error {
		out, err := e.kTry("-n", helmNS, "get", "pods", "-o", "name")
		if err == nil && out != "" {
			err = fmt.Errorf("left: %s", out)
		}
		return err
	})
	if out, err := e.kTry("get", "crd", "talisinstancesets.infra.talis.io"); err == nil {
		t.Errorf("the README's uninstall left the CRD: %s", out)
	}
	e.k(t, "delete", "namespace", helmNS, "--wait", "--timeout=2m")
}

// kustomizeDefault installs config/default the way `make deploy IMG=...` does (on a copy, so the
// repo's kustomization is not edited), runs a project that names its Talis URL, scrapes metrics,
// and undeploys in the documented order.
func (e env) kustomizeDefault(t *testing.T, talisURL string) {
	dir := t.TempDir()
	run(t, "", "cp", "-r", filepath.Join(e.root, "config"), dir)
	cmd := exec.Command(e.kustomize, "edit", "set", "image", "controller="+image)
	cmd.Dir = filepath.Join(dir, "config/manager")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kustomize edit set image: %v\n%s", err, out)
	}
	// What a user does before `make deploy`: set the manager's Talis URL (projects may only use
	// another one the admin allows, with a key Secret of their own).
	mf := filepath.Join(dir, "config/manager/manager.yaml")
	raw, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	withURL := strings.Replace(string(raw), "- name: TALIS_URL\n          value: \"\"", "- name: TALIS_URL\n          value: "+strconv.Quote(talisURL), 1)
	if withURL == string(raw) {
		t.Fatal("config/manager/manager.yaml has no empty TALIS_URL to set")
	}
	if err := os.WriteFile(mf, []byte(withURL), 0o644); err != nil {
		t.Fatal(err)
	}
	manifests := run(t, "", e.kustomize, "build", filepath.Join(dir, "config/default"))
	e.kIn(t, manifests, "apply", "-f", "-")
	e.checkPods(t, kustomizeNS)

	objects := (`apiVersion: infra.talis.io/v1alpha1
kind: TalisProject
metadata: {name: kustomized, namespace: talis-e2e}
spec: {description: config/default install}
---
apiVersion: infra.talis.io/v1alpha1
kind: TalisInstanceSet
metadata: {name: kustomized, namespace: talis-e2e}
spec:
  projectRef: {name: kustomized}
  replicas: 2
  template:
    {provider: do, region: nyc1, size: s-1vcpu-1gb, image: ubuntu-22-04-x64, volumes: [{name: data, sizeGB: 10}]}
`)
	e.kIn(t, objects, "apply", "-f", "-")
	s := e.waitSetReady(t, "talis-e2e", "kustomized", 2)
	checkLedger(t, talisURL, s.Status.ProjectName, 2)
	e.metrics(t, "kustomize", kustomizeNS, "talis-operator-controller-manager-metrics-service", "talis-operator-metrics-reader")

	e.kIn(t, objects, "delete", "-f", "-", "--wait", "--timeout=3m")
	e.kIn(t, manifests, "delete", "--ignore-not-found", "--wait", "--timeout=3m", "-f", "-")
	if out, err := e.kTry("get", "crd", "talisinstancesets.infra.talis.io"); err == nil {
		t.Errorf("undeploy left the CRD: %s", out)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
