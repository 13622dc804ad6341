package gitops

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

var applicationGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// argoEnv is an env whose git is a repository on the suite's git server, synced by Argo CD.
type argoEnv struct {
	*env
	repo *repo
}

// newArgoEnv is an env for an Argo CD test, with a manager; skipped unless ARGOCD_ASSETS is set.
func newArgoEnv(t *testing.T, prefix string) *argoEnv {
	t.Helper()
	if argo == nil {
		t.Skip("ARGOCD_ASSETS is not set")
	}
	e := newNamespace(t, prefix, true)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(argo.logs(e.ns))
		}
	})
	return &argoEnv{env: e, repo: argo.git.repo(t, e.ns)}
}

// push commits objs, as a user writes them, as the whole tree of the next commit; returns its hash.
func (a *argoEnv) push(objs ...client.Object) string {
	a.t.Helper()
	return a.pushDirs(map[string][]client.Object{".": objs})
}

// pushDirs is push with the objects of each directory in it.
func (a *argoEnv) pushDirs(dirs map[string][]client.Object) string {
	a.t.Helper()
	files := map[string]string{}
	for dir, objs := range dirs {
		for _, o := range objs {
			file, doc := a.manifest(o)
			files[filepath.Join(dir, file)] = doc
		}
	}
	return a.repo.commit(files, fmt.Sprintf("%d files", len(files)))
}

// appName is the Application of name in this test (Applications live in one namespace).
func (a *argoEnv) appName(name string) string { return a.ns + "-" + name }

// application creates Application name syncing the repository's path dir (its root if "") into the
// test's namespace, automated with prune and self-heal, with extra set in its spec and the
// resources finalizer if finalizer.
func (a *argoEnv) application(name, dir string, finalizer bool, extra map[string]any) {
	a.t.Helper()
	if dir == "" {
		dir = "."
	}
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(applicationGVK)
	app.SetNamespace(argoNamespace)
	app.SetName(a.appName(name))
	if finalizer {
		app.SetFinalizers([]string{"resources-finalizer.argocd.argoproj.io"})
	}
	spec := map[string]any{"project": "default",
		"source":      map[string]any{"repoURL": a.repo.URL, "path": dir, "targetRevision": "main"},
		"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": a.ns},
		"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}}}
	for f, v := range extra {
		spec[f] = v
	}
	app.Object["spec"] = spec
	if err := cp.Client.Create(ctx, app); err != nil {
		a.t.Fatal(err)
	}
}

// refresh asks Argo CD to compare the Application with git now, as a webhook from the git host
// does (`argocd app get --refresh`); hard also drops the manifests it cached.
func (a *argoEnv) refresh(name string, hard bool) {
	a.t.Helper()
	kind := "normal"
	if hard {
		kind = "hard"
	}
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(applicationGVK)
	app.SetNamespace(argoNamespace)
	app.SetName(a.appName(name))
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":%q}}}`, kind)
	if err := cp.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		a.t.Fatal(err)
	}
}

// resourceView is one managed resource as the Application's status lists it.
type resourceView struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Health struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"health"`
}

// appView is what `argocd app get` shows of an Application.
type appView struct {
	Sync struct {
		Status   string `json:"status"`
		Revision string `json:"revision"`
	} `json:"sync"`
	// Health is the Application's, the worst of its resources'.
	Health struct {
		Status string `json:"status"`
	} `json:"health"`
	Resources      []resourceView `json:"resources"`
	OperationState *struct {
		Phase      string `json:"phase"`
		Message    string `json:"message"`
		StartedAt  string `json:"startedAt"`
		SyncResult *struct {
			Revision string `json:"revision"`
		} `json:"syncResult"`
	} `json:"operationState"`
	Conditions []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"conditions"`
	ReconciledAt string `json:"reconciledAt"`
}

func (v appView) String() string {
	var rs []string
	for _, r := range v.Resources {
		rs = append(rs, fmt.Sprintf("%s/%s %s %s (%s)", r.Kind, r.Name, r.Status, r.Health.Status, r.Health.Message))
	}
	op := "<none>"
	if v.OperationState != nil {
		op = v.OperationState.Phase + ": " + v.OperationState.Message
	}
	return fmt.Sprintf("sync %s at %.7s, health %s; resources [%s]; operation %s; conditions %v",
		v.Sync.Status, v.Sync.Revision, v.Health.Status, strings.Join(rs, "; "), op, v.Conditions)
}

// resource is the managed resource kind/name (nil if the status does not list it).
func (v appView) resource(kind, name string) *resourceView {
	for i := range v.Resources {
		if v.Resources[i].Kind == kind && v.Resources[i].Name == name {
			return &v.Resources[i]
		}
	}
	return nil
}

// syncedAt says whether Argo CD reports the Application Synced to git's commit rev.
func (v appView) syncedAt(rev string) bool {
	return v.Sync.Status == "Synced" && v.Sync.Revision == rev
}

func (a *argoEnv) app(name string) (appView, error) {
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(applicationGVK)
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: argoNamespace, Name: a.appName(name)}, app); err != nil {
		return appView{}, err
	}
	var v appView
	if raw, ok := app.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &v); err != nil {
			return appView{}, err
		}
	}
	return v, nil
}

// eventuallyApp waits until ok accepts the Application's view and returns that view.
func (a *argoEnv) eventuallyApp(name, what string, timeout time.Duration, ok func(appView) error) appView {
	a.t.Helper()
	var v appView
	harness.Eventually(a.t, timeout, fmt.Sprintf("Application %s: %s", a.appName(name), what), func() error {
		var err error
		if v, err = a.app(name); err != nil {
			return err
		}
		if err := ok(v); err != nil {
			return fmt.Errorf("%w; %s", err, v)
		}
		return nil
	})
	return v
}

// healthyAt waits until the Application is Synced to rev and Healthy.
func (a *argoEnv) healthyAt(name, rev string) appView {
	a.t.Helper()
	return a.eventuallyApp(name, "Synced to "+rev[:7]+" and Healthy", 90*time.Second, func(v appView) error {
		if !v.syncedAt(rev) || v.Health.Status != "Healthy" {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// comparedAfter waits until Argo CD has compared the Application with git and the cluster after t (a
// refresh, or its periodic comparison) and returns that view.
func (a *argoEnv) comparedAfter(name string, t time.Time) appView {
	a.t.Helper()
	return a.eventuallyApp(name, "compared after "+t.Format(time.RFC3339), 60*time.Second, func(v appView) error {
		at, err := time.Parse(time.RFC3339, v.ReconciledAt)
		if err != nil || !at.After(t.Truncate(time.Second)) {
			return fmt.Errorf("last compared at %q", v.ReconciledAt)
		}
		return nil
	})
}
