package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

var crdNames = []string{"talisinstancesets.infra.talis.io", "talisprojects.infra.talis.io"}

// fleet is a project with two sets, ready.
type fleet struct {
	ns      string
	project *infrav1.TalisProject
	sets    []*infrav1.TalisInstanceSet
}

func newFleet(t *testing.T, ns string, secretRef string) *fleet {
	t.Helper()
	f := &fleet{ns: ns, project: harness.Project(ns, "p")}
	if secretRef != "" {
		f.project.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: secretRef}}
	}
	f.sets = []*infrav1.TalisInstanceSet{harness.Set(ns, "a", "p", 2), harness.Set(ns, "b", "p", 1)}
	for _, o := range []client.Object{f.project, f.sets[0], f.sets[1]} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range f.sets {
		harness.Eventually(t, 90*time.Second, s.Name+" ready", func() error {
			return harness.SetReady(ctx, cp.Client, harness.SetKey{Namespace: ns, Name: s.Name}, int(*s.Spec.Replicas))
		})
	}
	return f
}

func (f *fleet) live(emu *emulator.Server) int {
	n := 0
	by := harness.LedgerByIdentity(emu.Ledger())
	for _, s := range f.sets {
		n += len(by[harness.SetIdentity(f.ns, s.Name)].LiveIDs())
	}
	return n
}

// requireTornDown checks that no instance of the fleet is live and that its Talis project is gone.
func (f *fleet) requireTornDown(t *testing.T, emu *emulator.Server, key string) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, "no live instance", func() error {
		if n := f.live(emu); n != 0 {
			return fmt.Errorf("%d instance(s) still live", n)
		}
		return nil
	})
	c, err := talis.NewClient(&talis.Options{BaseURL: emu.URL(), APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetProject(ctx, talis.ProjectGetParams{Name: harness.ProjectName(f.ns, "p"), OwnerID: talis.AdminOwnerID})
	if !talis.IsNotFound(err) {
		t.Errorf("the Talis project %s-p was not deleted: %v", f.ns, err)
	}
}

// purgeOthers removes Talis objects that earlier tests left anywhere (they would hold the CRDs'
// deletion on finalizers that no manager of this test will ever remove).
func purgeOthers(t *testing.T) {
	t.Helper()
	var sets infrav1.TalisInstanceSetList
	var projects infrav1.TalisProjectList
	if err := cp.Client.List(ctx, &sets); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.List(ctx, &projects); err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	for i := range sets.Items {
		objs = append(objs, &sets.Items[i])
	}
	for i := range projects.Items {
		objs = append(objs, &projects.Items[i])
	}
	for _, o := range objs {
		t.Logf("removing %s/%s left by an earlier test", o.GetNamespace(), o.GetName())
		_ = cp.Client.Delete(ctx, o)
		_ = harness.Patch(ctx, cp.Client, o, func(o client.Object) { o.SetFinalizers(nil) })
	}
	for _, o := range objs {
		harness.Eventually(t, 30*time.Second, "leftover removed", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
}

func deleteCRDs(t *testing.T) {
	t.Helper()
	for _, name := range crdNames {
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := cp.Client.Delete(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
}

func crdsGone() error {
	for _, name := range crdNames {
		if err := harness.Gone(ctx, cp.Client, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			return err
		}
	}
	return nil
}

// restoreCRDs puts the CRDs back for the next test. If a test failed half-way it first strips
// the finalizers left behind so that the deletion can complete.
func restoreCRDs(t *testing.T) {
	if err := harness.Wait(5*time.Second, 250*time.Millisecond, crdsGone); err != nil {
		t.Logf("CRDs still present after the test; stripping finalizers: %v", err)
		var sets infrav1.TalisInstanceSetList
		var projects infrav1.TalisProjectList
		_ = cp.Client.List(ctx, &sets)
		_ = cp.Client.List(ctx, &projects)
		for i := range sets.Items {
			_ = harness.Patch(ctx, cp.Client, &sets.Items[i], func(s *infrav1.TalisInstanceSet) { s.Finalizers = nil })
		}
		for i := range projects.Items {
			_ = harness.Patch(ctx, cp.Client, &projects.Items[i], func(p *infrav1.TalisProject) { p.Finalizers = nil })
		}
		if err := harness.Wait(60*time.Second, 250*time.Millisecond, crdsGone); err != nil {
			t.Errorf("CRDs stuck: %v", err)
		}
	}
	if err := cp.InstallCRDs(); err != nil {
		t.Fatalf("re-installing the CRDs: %v", err)
	}
}

// TestUninstallWithManagerRunning is `make uninstall` (the CRDs deleted) while the manager runs:
// the apiserver deletes every TalisProject and TalisInstanceSet, the manager terminates their
// instances and deletes the Talis project, the finalizers go and so do the CRDs.
func TestUninstallWithManagerRunning(t *testing.T) {
	emu, url := fastTalis(t)
	purgeOthers(t)
	ns, err := cp.NewNamespace(ctx, "uninstall-running")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	f := newFleet(t, ns, "")
	t.Cleanup(func() { restoreCRDs(t) })
	deleteCRDs(t)
	harness.Eventually(t, 120*time.Second, "CRDs and every object gone", crdsGone)
	f.requireTornDown(t, emu, "")
}

// TestUninstallWithManagerStopped is an uninstall that removes the manager first (e.g. `make
// undeploy`, or `kubectl delete -k config/default` racing the Deployment). With no manager the
// objects cannot lose their finalizers: the apiserver marks them deleted, the CRDs stay
// Terminating, and Talis keeps the instances (nothing is lost, nothing is torn down behind the
// user's back). Starting the manager again finishes the teardown and the CRDs disappear.
func TestUninstallWithManagerStopped(t *testing.T) {
	emu, url := fastTalis(t)
	purgeOthers(t)
	ns, err := cp.NewNamespace(ctx, "uninstall-stopped")
	if err != nil {
		t.Fatal(err)
	}
	m := startManager(t, managerArgs(url, "--watch-namespaces", ns))
	f := newFleet(t, ns, "")
	m.Stop()
	t.Cleanup(func() { restoreCRDs(t) })
	deleteCRDs(t)

	harness.Eventually(t, 60*time.Second, "objects marked for deletion by the apiserver", func() error {
		for _, s := range f.sets {
			var got infrav1.TalisInstanceSet
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(s), &got); err != nil {
				return err
			}
			if got.DeletionTimestamp == nil {
				return fmt.Errorf("%s not deleting yet", s.Name)
			}
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if err := crdsGone(); err == nil {
		t.Fatal("the CRDs went away while objects still had finalizers")
	}
	if n := f.live(emu); n != 3 {
		t.Fatalf("%d live instances while no manager runs, want the 3 untouched", n)
	}

	m.Start()
	harness.Eventually(t, 120*time.Second, "the restarted manager finishes the teardown", crdsGone)
	f.requireTornDown(t, emu, "")
}

// deleteNamespace does what the namespace controller does (envtest runs none): it marks the
// namespace Terminating, deletes every namespaced object in it at once (the Secret goes at once,
// objects with finalizers stay until their controller lets go), repeats until nothing is left,
// then removes the namespace's own finalizer.
func deleteNamespace(ns string, timeout time.Duration) error {
	if err := cp.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	quiet := rest.CopyConfig(cp.Config)
	quiet.WarningHandler = rest.NoWarnings{}
	dc := discovery.NewDiscoveryClientForConfigOrDie(quiet)
	dyn := dynamic.NewForConfigOrDie(quiet)
	lists, err := dc.ServerPreferredNamespacedResources()
	if err != nil {
		return err
	}
	var gvrs []schema.GroupVersionResource
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !contains(r.Verbs, "deletecollection") || !contains(r.Verbs, "list") {
				continue
			}
			gvrs = append(gvrs, gv.WithResource(r.Name))
		}
	}
	err = harness.Wait(timeout, 250*time.Millisecond, func() error {
		var left []string
		for _, gvr := range gvrs {
			ri := dyn.Resource(gvr).Namespace(ns)
			if err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return err
			}
			l, err := ri.List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			for _, o := range l.Items {
				if gvr.Resource == "events" {
					continue // the namespace controller deletes them last; the manager may still write some
				}
				left = append(left, fmt.Sprintf("%s/%s finalizers=%v", gvr.Resource, o.GetName(), o.GetFinalizers()))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("still in the namespace: %v", left)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("emptying namespace %s: %w", ns, err)
	}
	var n corev1.Namespace
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		return err
	}
	n.Spec.Finalizers = nil
	if _, err := cp.Clientset.CoreV1().Namespaces().Finalize(ctx, &n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return harness.Wait(30*time.Second, 250*time.Millisecond, func() error { return harness.Gone(ctx, cp.Client, &n) })
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestNamespaceDeletion deletes a namespace holding the credentials Secret, the project and its
// sets at once. Talis accepts only the namespace's key (the manager has no key of its own), so
// the teardown relies on the key the manager remembered before the Secret vanished.
func TestNamespaceDeletion(t *testing.T) {
	emu, url := fastTalis(t)
	key := secretKey("ns")
	emu.SetAPIKeys(key)
	ns, err := cp.NewNamespace(ctx, "nsdelete")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}}, StringData: map[string]string{"apiKey": key}}
	if err := cp.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, ns, "talis")
	if err := deleteNamespace(ns, 120*time.Second); err != nil {
		t.Fatal(err)
	}
	f.requireTornDown(t, emu, key)
}

// TestNamespaceDeletionWhileManagerDown deletes the namespace while no manager runs, so the
// Secret is gone before any manager process could read it. A manager without a key of its own
// cannot reach Talis: the teardown waits, and every set says why (CredentialsUnavailable, naming
// the Secret). The remedy is a manager with a default key (--talis-api-key-file or
// TALIS_API_KEY, the Helm chart's talis.apiKeySecret) that Talis accepts; it finishes the
// teardown. Removing finalizers by hand would leak the instances.
func TestNamespaceDeletionWhileManagerDown(t *testing.T) {
	emu, url := fastTalis(t)
	nsKey, managerKey := secretKey("ns"), secretKey("manager")
	emu.SetAPIKeys(nsKey, managerKey)
	ns, err := cp.NewNamespace(ctx, "nsdelete-down")
	if err != nil {
		t.Fatal(err)
	}
	m := startManager(t, managerArgs(url, "--watch-namespaces", ns))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}}, StringData: map[string]string{"apiKey": nsKey}}
	if err := cp.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, ns, "talis")
	m.Stop()

	done := make(chan error, 1)
	go func() { done <- deleteNamespace(ns, 240*time.Second) }()
	harness.Eventually(t, 30*time.Second, "Secret deleted with the namespace", func() error { return harness.Gone(ctx, cp.Client, secret) })

	m.Start() // no key of its own
	harness.Eventually(t, 60*time.Second, "the set says why it cannot tear down", func() error {
		var s infrav1.TalisInstanceSet
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(f.sets[0]), &s); err != nil {
			return err
		}
		c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
		if c == nil || c.Reason != infrav1.ReasonCredentialsUnavailable || !strings.Contains(c.Message, `Secret "talis"`) {
			return fmt.Errorf("Ready is %+v", c)
		}
		return nil
	})
	if n := f.live(emu); n != 3 {
		t.Fatalf("%d live instances, want 3 waiting for the teardown", n)
	}
	m.Stop()

	keyFile := filepath.Join(cp.Dir, "manager-key")
	if err := os.WriteFile(keyFile, []byte(managerKey), 0o600); err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns, "--talis-api-key-file", keyFile))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.requireTornDown(t, emu, managerKey)
}
