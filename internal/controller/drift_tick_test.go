package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// listedInstance is a Talis with one instance whose state a test changes between lists.
type listedInstance struct {
	status atomic.Value // talis.InstanceStatus
	calls  atomic.Int64
}

func (l *listedInstance) ScanInstances(_ context.Context, _ *talis.ListOptions, fn func(*talis.Instance) error) error {
	l.calls.Add(1)
	return fn(&talis.Instance{ID: 1, ProjectID: 7, Status: l.status.Load().(talis.InstanceStatus)})
}

// A list another set's reconcile made just before the change is younger than the interval, but
// blind to the change: the tick must compare a list started after it, or the change waits a
// whole interval more (46–52 s at --drift-interval 30s in make bench).
func TestDriftTickComparesAListStartedAfterIt(t *testing.T) {
	const interval = time.Hour // the test drives the ticks
	talisAPI := &listedInstance{}
	talisAPI.status.Store(talis.InstanceStatusReady)
	obs := observer.New(0)
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	start := time.Now()
	d := &driftWatch{
		sets: map[client.ObjectKey]watchedSet{key: {endpoint: "ep", project: 7, seenAt: start.Add(-time.Minute),
			instances: map[int64]instanceView{1: {state: string(talis.InstanceStatusReady)}}}},
		endpoints: map[string]*driftEndpoint{"ep": {api: talisAPI, sets: 1, compared: start.Add(-interval)}},
	}

	// Another set's reconcile lists; then the instance is terminated outside Kubernetes.
	listed := make(chan struct{})
	if _, err := obs.Get("ep", talisAPI, start, "other set", func() { close(listed) }); !errors.Is(err, observer.ErrPending) {
		t.Fatalf("reconcile's list: %v", err)
	}
	<-listed
	talisAPI.status.Store(talis.InstanceStatusTerminated)

	woken := make(chan client.ObjectKey, 1)
	d.tick(time.Now(), interval, obs, func(k client.ObjectKey) { woken <- k })
	select {
	case k := <-woken:
		if k != key {
			t.Fatalf("woke %v, want %v", k, key)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the tick did not see the terminate (%d list calls: it compared the reconcile's list)", talisAPI.calls.Load())
	}
}
