// Package harness runs talis-operator the way it runs in a cluster, for the reliability and chaos
// suites (test/reliability, test/chaos): a real kube-apiserver and etcd (envtest), the Talis emulator behind a recording proxy,
// and the manager binary as a separate process that the tests kill, restart and read the logs of.
// The manager talks to the apiserver as a user holding exactly the generated RBAC
// (config/rbac/role.yaml, the leader-election Role and the metrics-auth ClusterRole), so every
// scenario also proves that least privilege is enough.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// ManagerUser is the identity the manager processes authenticate as; ManagerNamespace holds
// the leader-election lease.
const (
	ManagerUser      = "talis-operator-manager"
	ManagerNamespace = "talis-system"
)

// ControlPlane is one kube-apiserver + etcd with the CRDs installed.
type ControlPlane struct {
	Env       *envtest.Environment
	Config    *rest.Config
	Client    client.Client
	Clientset *kubernetes.Clientset
	Scheme    *runtime.Scheme
	// Dir holds kubeconfigs, logs and certificates of this run.
	Dir string
	// ManagerKubeconfig authenticates as ManagerUser (generated RBAC only).
	ManagerKubeconfig string
	RepoRoot          string
}

// RepoRoot finds the module root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// StartControlPlane starts the apiserver and etcd from KUBEBUILDER_ASSETS, installs the CRDs and
// the manager's RBAC, and writes the manager's kubeconfig.
func StartControlPlane() (*ControlPlane, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make test` / `make test-chaos`, which build kube-apiserver and etcd from source")
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{RepoRoot: root, Scheme: runtime.NewScheme()}
	if err := clientgoscheme.AddToScheme(cp.Scheme); err != nil {
		return nil, err
	}
	if err := infrav1.AddToScheme(cp.Scheme); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(cp.Scheme); err != nil {
		return nil, err
	}
	if cp.Dir, err = os.MkdirTemp("", "talis-harness-"); err != nil {
		return nil, err
	}
	cp.Env = &envtest.Environment{
		CRDDirectoryPaths:     []string{cp.CRDDir()},
		ErrorIfCRDPathMissing: true,
	}
	if cp.Config, err = cp.Env.Start(); err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	if cp.Client, err = client.New(cp.Config, client.Options{Scheme: cp.Scheme}); err != nil {
		return nil, err
	}
	if cp.Clientset, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	if err := cp.installManagerRBAC(context.Background()); err != nil {
		return nil, fmt.Errorf("installing the manager's RBAC: %w", err)
	}
	user, err := cp.Env.ControlPlane.AddUser(envtest.User{Name: ManagerUser}, nil)
	if err != nil {
		return nil, err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	cp.ManagerKubeconfig = filepath.Join(cp.Dir, "manager.kubeconfig")
	return cp, os.WriteFile(cp.ManagerKubeconfig, raw, 0o600)
}

// CRDDir is config/crd/bases.
func (cp *ControlPlane) CRDDir() string { return filepath.Join(cp.RepoRoot, "config", "crd", "bases") }

// Stop stops the apiserver and etcd.
func (cp *ControlPlane) Stop() error {
	if cp.Env == nil {
		return nil
	}
	return cp.Env.Stop()
}

// ReadRBAC reads the objects of one file under config/rbac.
func (cp *ControlPlane) ReadRBAC(file string, into any) error {
	raw, err := os.ReadFile(filepath.Join(cp.RepoRoot, "config", "rbac", file))
	if err != nil {
		return err
	}
	raw = bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("---"))
	return yaml.UnmarshalStrict(raw, into)
}

// installManagerRBAC grants ManagerUser what the kustomize/Helm deployment grants the manager's
// service account: the generated ClusterRole, the metrics-auth ClusterRole and the
// leader-election Role in ManagerNamespace. Nothing else.
func (cp *ControlPlane) installManagerRBAC(ctx context.Context) error {
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: ManagerUser}}
	for _, f := range []string{"role.yaml", "secret_reader_role.yaml", "metrics_auth_role.yaml"} {
		var role rbacv1.ClusterRole
		if err := cp.ReadRBAC(f, &role); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		role.Labels = nil
		if err := cp.Client.Create(ctx, &role); err != nil {
			return err
		}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name + "-test"}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}}
		if err := cp.Client.Create(ctx, binding); err != nil {
			return err
		}
	}
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ManagerNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	var le rbacv1.Role
	if err := cp.ReadRBAC("leader_election_role.yaml", &le); err != nil {
		return fmt.Errorf("leader_election_role.yaml: %w", err)
	}
	le.Namespace, le.Labels = ManagerNamespace, nil
	if err := cp.Client.Create(ctx, &le); err != nil {
		return err
	}
	return cp.Client.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ManagerNamespace, Name: le.Name + "-test"},
		Subjects: subject, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: le.Name}})
}

// InstallCRDs (re)installs the CRDs, e.g. after an uninstall test removed them.
func (cp *ControlPlane) InstallCRDs() error {
	_, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{Paths: []string{cp.CRDDir()}, ErrorIfPathMissing: true})
	return err
}

// NewNamespace creates a namespace with a unique name starting with prefix.
func (cp *ControlPlane) NewNamespace(ctx context.Context, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.ToLower(prefix) + "-"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// AdminKubeconfig writes a kubeconfig for a system:masters user called name (for the demo and the
// bench, which run the manager with full rights as `make run` would) and returns its path.
func (cp *ControlPlane) AdminKubeconfig(name string) (string, error) {
	user, err := cp.Env.ControlPlane.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cp.Dir, name+".kubeconfig")
	return path, os.WriteFile(path, raw, 0o600)
}
