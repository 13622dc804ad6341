package render

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// One kube-apiserver + etcd serves every test of the package.
var (
	repoRoot  string
	kustomize string
	helm      string
	helmEnv   []string
	k8s       client.Client
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		return fail(err)
	}
	if kustomize, err = tool("KUSTOMIZE", "kustomize"); err != nil {
		return fail(err)
	}
	if helm, err = tool("HELM", "helm"); err != nil {
		return fail(err)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fail(errors.New("KUBEBUILDER_ASSETS is not set: run `make test`, which builds kube-apiserver and etcd " +
			"from source (or set it to bin/k8s/<version>-linux-amd64 after `make envtest`)"))
	}

	// Keep helm away from the user's configuration and caches.
	helmHome, err := os.MkdirTemp("", "render-helm-")
	if err != nil {
		return fail(err)
	}
	defer func() { _ = os.RemoveAll(helmHome) }()
	helmEnv = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
	)

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return fail(fmt.Errorf("starting envtest (KUBEBUILDER_ASSETS=%s): %w", os.Getenv("KUBEBUILDER_ASSETS"), err))
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "test/render: stopping envtest:", err)
		}
	}()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fail(err)
	}
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return fail(err)
	}
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "test/render:", err)
	return 1
}

// tool resolves the binary named by an environment variable: a path relative to the repository
// root, an absolute path, or a command on PATH.
func tool(envVar, name string) (string, error) {
	v := os.Getenv(envVar)
	if v == "" {
		return "", fmt.Errorf("%s is not set: run `make test`, which builds the pinned %s into bin/ and passes its path", envVar, name)
	}
	if !strings.ContainsRune(v, os.PathSeparator) {
		return exec.LookPath(v)
	}
	if !filepath.IsAbs(v) {
		v = filepath.Join(repoRoot, v)
	}
	if _, err := os.Stat(v); err != nil {
		return "", fmt.Errorf("%s=%s: %w", envVar, v, err)
	}
	return v, nil
}

// ensureNamespace creates a namespace for real: a dry-run of a namespaced object needs it.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := k8s.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}
