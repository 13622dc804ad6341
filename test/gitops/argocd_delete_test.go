package gitops

import (
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

// Deleting an Application that carries the resources finalizer (resources-finalizer.argocd.argoproj.io,
// foreground) deletes its set and project; the operator terminates every instance before the set
// goes, and the Application goes only after that: when it is gone, Talis runs nothing of the set.
func TestArgoDeletingTheApplicationTerminatesEveryInstance(t *testing.T) {
	t.Parallel()
	if argo != nil && argo.gc == nil {
		t.Skip("KUBE_CONTROLLER_MANAGER is not set: the foreground deletion needs the garbage collector")
	}
	a := newArgoEnv(t, "argo-delete")
	set := harness.Set(a.ns, "web", "p", 3)
	rev := a.push(harness.Project(a.ns, "p"), set)
	a.application("fleet", "", true, nil)
	a.convergedAt("fleet", rev, "web", 3)

	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(applicationGVK)
	app.SetNamespace(argoNamespace)
	app.SetName(a.appName("fleet"))
	if err := cp.Client.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	var liveWhenGone []int64
	sawDeleting := false
	harness.Eventually(t, 90*time.Second, "the Application gone", func() error {
		err := cp.Client.Get(ctx, client.ObjectKeyFromObject(app), app)
		if apierrors.IsNotFound(err) {
			liveWhenGone = a.live("web")
			return nil
		}
		if err != nil {
			return err
		}
		if s, err := a.getSet("web"); err == nil && s.DeletionTimestamp != nil {
			sawDeleting = true
		}
		return fmt.Errorf("still there, finalizers %v", app.GetFinalizers())
	})
	if len(liveWhenGone) != 0 {
		t.Errorf("the Application went while Talis still ran %v", liveWhenGone)
	}
	if !sawDeleting {
		t.Errorf("the set was never seen deleting while the Application waited")
	}
	if err := harness.Gone(ctx, cp.Client, set); err != nil {
		t.Errorf("the set: %v", err)
	}
	if err := harness.Gone(ctx, cp.Client, harness.Project(a.ns, "p")); err != nil {
		t.Errorf("the project: %v", err)
	}
	sl := harness.LedgerByIdentity(a.emu.Ledger())[harness.SetIdentity(a.ns, "web")]
	if sl == nil || len(sl.All) != 3 || len(sl.Live) != 0 {
		t.Errorf("the ledger does not show 3 instances, all terminated: %+v", sl)
	}
}
