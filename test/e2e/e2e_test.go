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
	helmNS      = "talis-system"
	release     = "talis-operator" // the chart's fullname is then "talis-operator"
	manager     = "talis-operator-controller-manager"
	leaseName   = "talis-operator.infra.talis.io"
	kustomizeNS = "talis-operator-system"
)

// TestE2E walks the operator's install paths in order on one node: the emulator, the Helm chart
// (probes, security context, samples, scale, metrics, leader failover, uninstall), then kustomize's
// config/default. Each step needs the one before, so the first failure stops the walk.
func TestE2E(t *testing.T) {
	e := loadEnv(t)
	talisURL := e.emulator(t)
	steps := []struct {
		name string
		f    func(*testing.T)
	}{
		{"HelmInstall", func(t *testing.T) { e.helmInstall(t, talisURL) }},
		{"PodsReadyReadOnlyNonRoot", func(t *testing.T) { e.checkPods(t, helmNS) }},
		{"SamplesReadyWithIPs", func(t *testing.T) { e.samples(t) }},
		{"KubectlScale", func(t *testing.T) { e.scale(t, talisURL) }},
		{"MetricsThroughService", func(t *testing.T) { e.metrics(t, helmNS, release+"-metrics-service", release+"-metrics-reader") }},
		{"LeaderDeletedMidScale", func(t *testing.T) { e.leaderFailover(t, talisURL) }},
		{"HelmUninstallAfterObjects", func(t *testing.T) { e.helmUninstall(t, talisURL) }},
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

func (e env) helmInstall(t *testing.T, talisURL string) {
	repo, tag, _ := strings.Cut(image, ":")
	e.h(t, "install", release, filepath.Join(e.root, "charts/talis-operator"), "-n", helmNS, "--create-namespace",
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never",
		"--set", "replicaCount=2", "--set", "talis.url="+talisURL, "--wait", "--timeout", "4m")
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

// samples applies config/samples as a user would and waits for the set to be Ready with 3 IPs.
func (e env) samples(t *testing.T) {
	e.k(t, "apply", "-k", filepath.Join(e.root, "config/samples"))
	e.waitSetReady(t, "default", "web", 3)
}

func (e env) scale(t *testing.T, talisURL string) {
	e.k(t, "-n", "default", "scale", "talisinstanceset/web", "--replicas=5")
	s := e.waitSetReady(t, "default", "web", 5)
	checkLedger(t, talisURL, s.Status.ProjectName, 5)
}

// metrics scrapes the manager through its metrics Service with ServiceAccount tokens.
func (e env) metrics(t *testing.T, ns, svc, readerRole string) {
	e.k(t, "-n", "talis-e2e", "create", "serviceaccount", "scraper-"+ns)
	e.k(t, "-n", "talis-e2e", "create", "serviceaccount", "nobody-"+ns)
	e.k(t, "create", "clusterrolebinding", "e2e-scraper-"+ns, "--clusterrole", readerRole, "--serviceaccount", "talis-e2e:scraper-"+ns)
	reader := e.k(t, "-n", "talis-e2e", "create", "token", "scraper-"+ns)
	nobody := e.k(t, "-n", "talis-e2e", "create", "token", "nobody-"+ns)
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

// helmUninstall follows the documented order: delete the Talis objects while the manager still runs
// (its finalizers terminate the instances), then uninstall the chart. The CRDs stay (Helm never
// deletes crds/), so no other release's objects go with it.
func (e env) helmUninstall(t *testing.T, talisURL string) {
	var s instanceSet
	e.getJSON(t, &s, "-n", "default", "talisinstanceset", "web")
	e.k(t, "delete", "-k", filepath.Join(e.root, "config/samples"), "--wait", "--timeout=3m")
	for _, l := range ledger(t, talisURL, s.Status.ProjectName) {
		if l.Status != "terminated" {
			t.Errorf("instance %d (%s) is %s after its set was deleted", l.ID, l.Name, l.Status)
		}
	}
	e.h(t, "uninstall", release, "-n", helmNS, "--wait", "--timeout", "3m")
	eventually(t, 2*time.Minute, "the manager's pods gone", func() error {
		out, err := e.kTry("-n", helmNS, "get", "pods", "-o", "name")
		if err == nil && out != "" {
			err = fmt.Errorf("left: %s", out)
		}
		return err
	})
	e.k(t, "get", "crd", "talisinstancesets.infra.talis.io", "talisprojects.infra.talis.io")
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
	e.metrics(t, kustomizeNS, "talis-operator-controller-manager-metrics-service", "talis-operator-metrics-reader")

	e.kIn(t, objects, "delete", "-f", "-", "--wait", "--timeout=3m")
	e.kIn(t, manifests, "delete", "--ignore-not-found", "--wait", "--timeout=3m", "-f", "-")
	if out, err := e.kTry("get", "crd", "talisinstancesets.infra.talis.io"); err == nil {
		t.Errorf("undeploy left the CRD: %s", out)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
