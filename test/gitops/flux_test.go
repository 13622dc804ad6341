package gitops

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

var (
	kustomizationGVK    = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
	externalArtifactGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "ExternalArtifact"}
)

// artifactServer serves the tarballs the tests publish, as source-controller serves its artifacts.
type artifactServer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
}

func newArtifactServer() (*artifactServer, error) {
	a := &artifactServer{files: map[string][]byte{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		b, ok := a.files[r.URL.Path]
		a.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	return a, nil
}

func (a *artifactServer) put(path string, b []byte) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files[path] = b
	return a.srv.URL + path
}

func (a *artifactServer) Close() { a.srv.Close() }

// tarball is the tar.gz of files (name → content), in name order.
func tarball(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// env is one namespace with the Talis emulator and, unless told otherwise, a manager watching it:
// what a user commits goes through kustomize-controller.
type env struct {
	t   *testing.T
	ns  string
	emu *emulator.Server
	url string
	rev map[string]int
}

// delays are the emulator's: instances are ready about a second after the create, long enough
// that a health check passing too early would be seen, short enough for a quick suite.
var delays = emulator.Delays{Pickup: 50 * time.Millisecond, Create: 300 * time.Millisecond, Ready: 100 * time.Millisecond,
	Provision: 500 * time.Millisecond, Terminate: 100 * time.Millisecond}

// newEnv is an env for a Flux test, skipped unless FLUX_ASSETS is set.
func newEnv(t *testing.T, prefix string, manager bool) *env {
	t.Helper()
	if flux == nil {
		t.Skip("FLUX_ASSETS is not set")
	}
	e := newNamespace(t, prefix, manager)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kustomize-controller log (KEEP_LOGS=1 keeps it): %s", flux.LogPath())
			t.Logf("its lines about %s:\n%s", e.ns, grepLines(flux.ReadLog(), e.ns, 40))
		}
	})
	return e
}

// newNamespace is a namespace with its own emulator and, if manager, a manager watching it.
func newNamespace(t *testing.T, prefix string, manager bool) *env {
	t.Helper()
	ns, err := cp.NewNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(emulator.Config{Seed: 7, Delays: delays})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	e := &env{t: t, ns: ns, emu: emu, url: url, rev: map[string]int{}}
	if manager {
		e.startManager()
	}
	return e
}

func (e *env) startManager() {
	cp.StartTestManager(e.t, managerBin, harness.ManagerArgs(e.url, "--watch-namespaces", e.ns))
}

// grepLines is the last n lines of log that mention s.
func grepLines(log, s string, n int) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// manifest is o as a user commits it (apiVersion and kind, no status, no server fields) and a
// file name for it.
func (e *env) manifest(o client.Object) (string, string) {
	e.t.Helper()
	gvk, err := cp.Client.GroupVersionKindFor(o)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.ToLower(gvk.Kind) + "-" + o.GetName() + ".yaml", string(b)
}

// commit publishes objs as the next revision of source name (an ExternalArtifact of that name,
// created on first use) and returns the revision.
func (e *env) commit(name string, objs ...client.Object) string {
	e.t.Helper()
	files := map[string]string{}
	for _, o := range objs {
		file, doc := e.manifest(o)
		files[file] = doc
	}
	b, err := tarball(files)
	if err != nil {
		e.t.Fatal(err)
	}
	e.rev[name]++
	rev := fmt.Sprintf("r%d", e.rev[name])
	sum := sha256.Sum256(b)
	url := artifacts.put(fmt.Sprintf("/%s/%s/%s.tar.gz", e.ns, name, rev), b)
	ea := &unstructured.Unstructured{}
	ea.SetGroupVersionKind(externalArtifactGVK)
	ea.SetNamespace(e.ns)
	ea.SetName(name)
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(ea), ea); err != nil {
		ea.Object["spec"] = map[string]any{}
		if err := cp.Client.Create(ctx, ea); err != nil {
			e.t.Fatal(err)
		}
	}
	now := time.Now().UTC().Format(time.RFC3339)
	ea.Object["status"] = map[string]any{
		"artifact": map[string]any{"url": url, "path": fmt.Sprintf("%s/%s/%s.tar.gz", e.ns, name, rev), "revision": rev,
			"digest": "sha256:" + hex.EncodeToString(sum[:]), "lastUpdateTime": now, "size": int64(len(b))},
		"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "Succeeded",
			"message": "stored artifact for revision " + rev, "lastTransitionTime": now}},
	}
	if err := cp.Client.Status().Update(ctx, ea); err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// kustomization creates a Kustomization of source name that prunes and waits (timeout 60 s), with
// the fields of extra added to its spec.
func (e *env) kustomization(name string, extra map[string]any) {
	e.t.Helper()
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	k.SetNamespace(e.ns)
	k.SetName(name)
	spec := map[string]any{"interval": "10m", "retryInterval": "5s", "path": "./", "prune": true, "wait": true, "timeout": "60s",
		"sourceRef": map[string]any{"kind": "ExternalArtifact", "name": name}}
	for f, v := range extra {
		spec[f] = v
	}
	k.Object["spec"] = spec
	if err := cp.Client.Create(ctx, k); err != nil {
		e.t.Fatal(err)
	}
}

// fluxView is what `flux get kustomizations` and `kubectl describe` show of a Kustomization.
type fluxView struct {
	Ready, Healthy                *metav1.Condition
	Applied, Attempted, Requested string
}

func (v fluxView) String() string {
	return fmt.Sprintf("Ready=%s applied %q attempted %q, Healthy=%s", condString(v.Ready), v.Applied, v.Attempted, condString(v.Healthy))
}

func condString(c *metav1.Condition) string {
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s (%s: %s)", c.Status, c.Reason, c.Message)
}

// readyAt says whether Flux reports revision rev applied and healthy.
func (v fluxView) readyAt(rev string) bool {
	return v.Applied == rev && v.Ready != nil && v.Ready.Status == metav1.ConditionTrue
}

func (e *env) flux(name string) (fluxView, error) {
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, k); err != nil {
		return fluxView{}, err
	}
	var st struct {
		Conditions             []metav1.Condition `json:"conditions"`
		LastAppliedRevision    string             `json:"lastAppliedRevision"`
		LastAttemptedRevision  string             `json:"lastAttemptedRevision"`
		LastHandledReconcileAt string             `json:"lastHandledReconcileAt"`
	}
	if raw, ok := k.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st); err != nil {
			return fluxView{}, err
		}
	}
	return fluxView{Ready: meta.FindStatusCondition(st.Conditions, "Ready"), Healthy: meta.FindStatusCondition(st.Conditions, "Healthy"),
		Applied: st.LastAppliedRevision, Attempted: st.LastAttemptedRevision, Requested: st.LastHandledReconcileAt}, nil
}

// eventuallyFlux waits until ok accepts the Kustomization's view and returns that view.
func (e *env) eventuallyFlux(name, what string, timeout time.Duration, ok func(fluxView) error) fluxView {
	e.t.Helper()
	var v fluxView
	harness.Eventually(e.t, timeout, fmt.Sprintf("Kustomization %s: %s", name, what), func() error {
		var err error
		if v, err = e.flux(name); err != nil {
			return err
		}
		if err := ok(v); err != nil {
			return fmt.Errorf("%w; %s", err, v)
		}
		return nil
	})
	return v
}

// reconcile asks Flux to reconcile now (`flux reconcile kustomization`) and waits until it has.
func (e *env) reconcile(name string) fluxView {
	e.t.Helper()
	at := time.Now().Format(time.RFC3339Nano)
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	k.SetNamespace(e.ns)
	k.SetName(name)
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, at))
	if err := cp.Client.Patch(ctx, k, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		e.t.Fatal(err)
	}
	return e.eventuallyFlux(name, "handles the reconcile request", 90*time.Second, func(v fluxView) error {
		if v.Requested != at || v.Ready == nil || v.Ready.Status == metav1.ConditionUnknown {
			return fmt.Errorf("request %s not handled yet", at)
		}
		return nil
	})
}

// fluxEvents are the Kustomization's events (core/v1, as kustomize-controller records them):
// "reason: message" with the revision they are about.
func (e *env) fluxEvents(name string) []string {
	e.t.Helper()
	evs, err := harness.CoreEvents(ctx, cp.Client, e.ns)
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].FirstTimestamp.Before(&evs[j].FirstTimestamp) })
	var out []string
	for _, ev := range evs {
		if ev.InvolvedObject.Kind == "Kustomization" && ev.InvolvedObject.Name == name {
			out = append(out, fmt.Sprintf("[%s] %s: %s", ev.Annotations["kustomize.toolkit.fluxcd.io/revision"], ev.Reason, ev.Message))
		}
	}
	return out
}

func (e *env) set(name string) *infrav1.TalisInstanceSet {
	e.t.Helper()
	s, err := e.getSet(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) getSet(name string) (*infrav1.TalisInstanceSet, error) {
	var s infrav1.TalisInstanceSet
	return &s, cp.Client.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, &s)
}

// live is what Talis runs for the set: the ids of its live instances in the emulator's ledger.
func (e *env) live(set string) []int64 {
	return harness.LedgerByIdentity(e.emu.Ledger())[harness.SetIdentity(e.ns, set)].LiveIDs()
}

// setReady waits until the set is Ready with n instances and Talis runs exactly n.
func (e *env) setReady(name string, n int) {
	e.t.Helper()
	key := harness.SetKey{Namespace: e.ns, Name: name}
	harness.Eventually(e.t, 60*time.Second, fmt.Sprintf("%s ready with %d", key, n), func() error {
		if err := harness.SetReady(ctx, cp.Client, key, n); err != nil {
			return err
		}
		if live := e.live(name); len(live) != n {
			return fmt.Errorf("%d live in Talis: %v", len(live), live)
		}
		return nil
	})
}
