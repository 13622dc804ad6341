package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/talis-operator/talis-operator/test/harness"
)

// argoNamespace holds Argo CD's config maps, its AppProject and every Application, as in an install.
const argoNamespace = "argocd"

// argo is the suite's Argo CD: nil unless ARGOCD_ASSETS is set.
var argo *argoCD

type argoCD struct {
	redis, repoServer, controller *harness.Manager
	// gc is kube-controller-manager running only its garbage collector (nil without
	// KUBE_CONTROLLER_MANAGER): envtest has none, and Argo CD's resources finalizer deletes in the
	// foreground, which only the garbage collector completes.
	gc  *harness.Manager
	git *gitServer
}

// logs is what a failed test prints: where each log is, and the controller's lines about ns.
func (a *argoCD) logs(ns string) string {
	return fmt.Sprintf("logs (KEEP_LOGS=1 keeps them): %s %s %s\napplication-controller lines about %s:\n%s",
		a.controller.LogPath(), a.repoServer.LogPath(), a.redis.LogPath(), ns, grepLines(a.controller.ReadLog(), ns, 40))
}

// startArgo installs Argo CD's CRDs and configuration (argocd-cm with docs/health/argocd.lua for both
// kinds, argocd-secret, argocd-rbac-cm, the default AppProject), starts the git server and the three
// processes of ARGOCD_ASSETS's binary (redis, repo-server, application-controller) against the control
// plane, the controller with full rights as its ClusterRole has, for the whole suite. It returns what
// stops them.
func startArgo() (func(), error) {
	assets := os.Getenv("ARGOCD_ASSETS")
	if _, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(assets, "crds")}, ErrorIfPathMissing: true}); err != nil {
		return nil, fmt.Errorf("installing the Argo CD CRDs: %w", err)
	}
	if err := argoConfig(); err != nil {
		return nil, fmt.Errorf("configuring Argo CD: %w", err)
	}
	a := &argoCD{}
	var err error
	if a.git, err = newGitServer(filepath.Join(cp.Dir, "git")); err != nil {
		return nil, err
	}
	stop := func() {
		for _, m := range []*harness.Manager{a.controller, a.repoServer, a.redis, a.gc} {
			if m != nil {
				m.Stop()
			}
		}
		a.git.Close()
	}
	if err := a.start(assets); err != nil {
		stop()
		return nil, err
	}
	argo = a
	return stop, nil
}

func (a *argoCD) start(assets string) error {
	bin := filepath.Join(assets, "argocd")
	addrs := make([]string, 4)
	for i := range addrs {
		var err error
		if addrs[i], err = harness.FreeAddr(); err != nil {
			return err
		}
	}
	redisAddr, repoAddr, repoMetrics, controllerMetrics := addrs[0], addrs[1], addrs[2], addrs[3]
	kubeconfig, err := cp.AdminKubeconfig("argocd-application-controller")
	if err != nil {
		return err
	}
	dir := filepath.Join(cp.Dir, "argocd")
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	// What an install's volumes and env give the components; the paths are empty here (no TLS or SSH
	// for a local repository, no GnuPG). ARGOCD_FAKE_IN_CLUSTER makes the in-cluster destination
	// (https://kubernetes.default.svc) use the KUBECONFIG, as Argo CD's own local runs do.
	env := []string{"ARGOCD_FAKE_IN_CLUSTER=true", "TMPDIR=" + tmp, "ARGOCD_GPG_ENABLED=false",
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(dir, "tls"), "ARGOCD_SSH_DATA_PATH=" + filepath.Join(dir, "ssh"),
		"ARGOCD_ASK_PASS_SOCK=" + filepath.Join(dir, "askpass.sock"), "GIT_CONFIG_NOSYSTEM=1"}
	start := func(name string, args ...string) (*harness.Manager, error) {
		m, err := harness.StartManager(harness.ManagerSpec{Bin: bin, Kubeconfig: kubeconfig, Args: args, Env: env,
			Log: filepath.Join(cp.Dir, "argocd-"+name+".log")})
		if err != nil {
			return nil, err
		}
		time.Sleep(500 * time.Millisecond)
		if !m.Running() {
			return nil, fmt.Errorf("argocd %s exited at once:\n%s", name, m.ReadLog())
		}
		return m, nil
	}
	if a.redis, err = start("redis", "redis", "--addr", redisAddr); err != nil {
		return err
	}
	if a.repoServer, err = start("repo-server", "repo-server", "--redis", redisAddr, "--disable-tls", "--logformat", "text",
		"--address", "127.0.0.1", "--port", port(repoAddr), "--metrics-address", "127.0.0.1", "--metrics-port", port(repoMetrics)); err != nil {
		return err
	}
	// --app-resync 10: Argo CD looks at git every 10 s (2 to 3 min by default), so that a commit is seen
	// without a webhook; the tests also ask for a refresh after each commit, as a webhook would.
	// --persist-resource-health: each resource's health in the Application's status, where the tests
	// read it (off by default since Argo CD 3.0, which keeps it in redis for its API server).
	if a.controller, err = start("application-controller", "application-controller", "--namespace", argoNamespace,
		"--redis", redisAddr, "--repo-server", repoAddr, "--repo-server-plaintext", "--logformat", "text",
		"--metrics-port", port(controllerMetrics), "--app-resync", "10", "--app-resync-jitter", "0",
		"--persist-resource-health", "--self-heal-timeout-seconds", "2"); err != nil {
		return err
	}
	if kcm := os.Getenv("KUBE_CONTROLLER_MANAGER"); kcm != "" {
		if a.gc, err = harness.StartManager(harness.ManagerSpec{Bin: kcm, Kubeconfig: kubeconfig, Log: filepath.Join(cp.Dir, "kube-controller-manager.log"),
			Args: []string{"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
				"--controllers", "garbagecollector", "--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false"}}); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
		if !a.gc.Running() {
			return fmt.Errorf("kube-controller-manager exited at once:\n%s", a.gc.ReadLog())
		}
	}
	return nil
}

func port(addr string) string { return addr[len("127.0.0.1:"):] }

// argoConfig writes what an install's manifests hold: the config maps and secret the components read,
// and the default AppProject (created by Argo CD's API server, which does not run here).
func argoConfig() error {
	lua, err := os.ReadFile(filepath.Join(cp.RepoRoot, "docs", "health", "argocd.lua"))
	if err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/part-of": "argocd"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: argoNamespace, Labels: labels}
	}
	project := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default", "namespace": argoNamespace},
		"spec": map[string]any{"sourceRepos": []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}}},
	}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argoNamespace}},
		// As docs/gitops.md tells users to install it.
		&corev1.ConfigMap{ObjectMeta: meta("argocd-cm"), Data: map[string]string{
			"resource.customizations.health.infra.talis.io_TalisInstanceSet": string(lua),
			"resource.customizations.health.infra.talis.io_TalisProject":     string(lua),
		}},
		&corev1.ConfigMap{ObjectMeta: meta("argocd-rbac-cm")},
		&corev1.Secret{ObjectMeta: meta("argocd-secret"), StringData: map[string]string{"server.secretkey": "test-gitops"}},
		project,
	} {
		if err := cp.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("%T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}
