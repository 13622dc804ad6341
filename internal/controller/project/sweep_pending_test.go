package project

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

const listRoute = "GET /api/v1/instances"

// A sweep woken by the list it asked for takes that list, however long the list and the
// project's reconcile took. Judged by now - drift interval again, a list slower than the
// interval made every wake ask for another list, and every reconcile it woke for another
// project.get: in the bench, 8 project.get per second per endpoint for as long as lists were slow.
func TestASweepTakesTheListItAskedFor(t *testing.T) {
	ctx := context.Background()
	emu := emulator.New(emulator.Config{TasksPerSecond: -1})
	defer func() { _ = emu.Close() }()
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()
	api, err := talis.NewClient(&talis.Options{BaseURL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := api.CreateProject(ctx, talis.ProjectCreateParams{Name: "p", OwnerID: talis.AdminOwnerID})
	if err != nil {
		t.Fatal(err)
	}
	const every = 100 * time.Millisecond
	emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{listRoute: {Latency: 3 * every}}})

	p := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-p"},
		Status: infrav1.TalisProjectStatus{ProjectName: "p", ProjectID: int64(proj.ID), Endpoint: srv.URL,
			OwnerID: int64(talis.AdminOwnerID), SweepAfterID: ptr.To[int64](0)}}
	scheme := runtime.NewScheme()
	if err := infrav1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(p).
		WithIndex(&infrav1.TalisInstanceSet{}, shared.ProjectRefIndex, func(o client.Object) []string {
			return []string{o.(*infrav1.TalisInstanceSet).Spec.ProjectRef.Name}
		}).Build()
	conns := talisconn.NewRegistry(talisconn.Defaults{URL: srv.URL, ClusterID: "c"}, nil)
	verifier := &claims.Verifier{Conns: conns}
	verifier.Remember(p)
	obs := observer.New(time.Millisecond)
	r := &Reconciler{Client: c, APIReader: c, Conns: conns, Observer: obs, Claims: verifier,
		Timing: shared.Timing{DriftPoll: every, Resync: time.Hour, StrayGrace: time.Hour}}
	conn := &talisconn.Connection{Key: "endpoint", Client: api, OwnerID: talis.AdminOwnerID}

	r.sweep(ctx, conn, p) // no list yet: it asks for one
	gomega.NewWithT(t).Eventually(func() error {
		_, err := obs.GetProject(conn.Key, api, observer.Project{ID: proj.ID}, time.Time{}, "test", nil)
		return err
	}, 10*time.Second, 10*time.Millisecond).Should(gomega.Succeed(), "the sweep's list did not arrive")
	if n := emu.Stats().Requests[listRoute]; n != 1 {
		t.Fatalf("%d lists, want the one the sweep asked for", n)
	}

	r.sweep(ctx, conn, p) // woken by that list, which started more than every ago
	time.Sleep(5 * every) // another list, if asked for, is sent at once and counted once served (3 × every)
	if n := emu.Stats().Requests[listRoute]; n != 1 {
		t.Errorf("the woken sweep asked for another list (%d lists): the one it asked for is older than the drift interval only because it was slow", n)
	}
}
