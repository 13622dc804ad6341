package metrics

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// The controller suite checks the same against a real API server and cache; this pins the values.
func TestObjectGauges(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := infrav1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ready := []metav1.Condition{{Type: infrav1.ConditionReady, Status: metav1.ConditionTrue}, {Type: infrav1.ConditionSynced, Status: metav1.ConditionFalse}}
	web := &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"},
		Spec: infrav1.TalisInstanceSetSpec{Replicas: ptr.To[int32](3)}, Status: infrav1.TalisInstanceSetStatus{Conditions: ready}}
	db := &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db"}}
	paused := []metav1.Condition{{Type: infrav1.ConditionSynced, Status: metav1.ConditionFalse, Reason: infrav1.ReasonPaused}}
	proj := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "demo"}, Status: infrav1.TalisProjectStatus{Conditions: paused}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(web, db, proj).WithStatusSubresource(web, proj).Build()

	elected := make(chan struct{})
	WatchObjects(c, elected)
	defer objects.src.Store(nil)
	if n := testutil.CollectAndCount(objects); n != 0 {
		t.Errorf("%d series before the manager is elected, want none", n)
	}
	close(elected)
	want := `
# HELP talis_operator_instanceset_desired_replicas Instances the TalisInstanceSet asks for: spec.replicas, 0 once it is being deleted.
# TYPE talis_operator_instanceset_desired_replicas gauge
talis_operator_instanceset_desired_replicas{namespace="a",set="db"} 1
talis_operator_instanceset_desired_replicas{namespace="a",set="web"} 3
# HELP talis_operator_instanceset_ready 1 when the TalisInstanceSet's Ready condition is True, else 0.
# TYPE talis_operator_instanceset_ready gauge
talis_operator_instanceset_ready{namespace="a",set="db"} 0
talis_operator_instanceset_ready{namespace="a",set="web"} 1
# HELP talis_operator_instanceset_paused 1 while the TalisInstanceSet is paused (its Synced condition has reason Paused), else 0.
# TYPE talis_operator_instanceset_paused gauge
talis_operator_instanceset_paused{namespace="a",set="db"} 0
talis_operator_instanceset_paused{namespace="a",set="web"} 0
# HELP talis_operator_project_paused 1 while the TalisProject is paused (its Synced condition has reason Paused), else 0.
# TYPE talis_operator_project_paused gauge
talis_operator_project_paused{namespace="a",project="demo"} 1
# HELP talis_operator_project_synced 1 when the TalisProject's Synced condition is True, else 0.
# TYPE talis_operator_project_synced gauge
talis_operator_project_synced{namespace="a",project="demo"} 0
`
	names := []string{"talis_operator_instanceset_desired_replicas", "talis_operator_instanceset_ready", "talis_operator_instanceset_paused",
		"talis_operator_project_paused", "talis_operator_project_synced"}
	if err := testutil.CollectAndCompare(objects, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	if err := c.Delete(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(objects, "talis_operator_instanceset_ready"); n != 1 {
		t.Errorf("%d ready series after deleting a set, want 1 (no stale series)", n)
	}
}
