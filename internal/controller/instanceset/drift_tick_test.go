package instanceset

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/internal/creates"
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
	if _, err := obs.GetProject("ep", talisAPI, observer.Project{ID: 7}, start, "other set", func() { close(listed) }); !errors.Is(err, observer.ErrPending) {
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

// Only an instance tagged for the set itself makes news: a neighbour's instances in the same
// project, or untagged ones, must not wake it.
func TestProjectViewSeesUnknownInstancesTaggedForTheSet(t *testing.T) {
	ready := string(talis.InstanceStatusReady)
	ws := watchedSet{identity: "web", instances: map[int64]instanceView{1: {state: ready}}}
	tagged := func(id uint, identity string) *observer.Instance {
		return &observer.Instance{ID: id, Status: talis.InstanceStatusReady, Tags: creates.Tags(identity, 1, "h", nil)}
	}
	cases := []struct {
		name string
		live []*observer.Instance
		want bool
	}{
		{"as expected", []*observer.Instance{tagged(1, "web")}, false},
		{"a neighbour's and an untagged instance", []*observer.Instance{tagged(1, "web"), tagged(2, "db"), {ID: 3, Status: talis.InstanceStatusReady}}, false},
		{"a late arrival", []*observer.Instance{tagged(1, "web"), tagged(4, "web")}, true},
		{"gone", []*observer.Instance{tagged(2, "db")}, true},
	}
	for _, c := range cases {
		if got := viewProject(c.live).contradicts(ws); got != c.want {
			t.Errorf("%s: contradicts = %t, want %t", c.name, got, c.want)
		}
	}
}

// refusingTalis answers every list with a 401, as Talis's gateway does for a revoked key.
type refusingTalis struct{}

func (refusingTalis) ScanInstances(context.Context, *talis.ListOptions, func(*talis.Instance) error) error {
	return &talis.APIError{StatusCode: 401, Message: "invalid API key"}
}

// A revoked key contradicts nothing a steady set recorded, so comparing alone would never wake
// one: the tick wakes every set of the endpoint, which then reads the refusal and says so.
func TestDriftTickWakesEverySetOfARefusedKey(t *testing.T) {
	obs := observer.New(0)
	web, api := client.ObjectKey{Namespace: "ns", Name: "web"}, client.ObjectKey{Namespace: "ns", Name: "api"}
	other := client.ObjectKey{Namespace: "ns", Name: "elsewhere"}
	d := &driftWatch{}
	d.sets = map[client.ObjectKey]watchedSet{web: {endpoint: "ep"}, api: {endpoint: "ep"}, other: {endpoint: "ep2"}}
	d.endpoints = map[string]*driftEndpoint{"ep": {api: refusingTalis{}, sets: 2}, "ep2": {api: &listedInstance{}, sets: 1}}
	d.endpoints["ep2"].api.(*listedInstance).status.Store(talis.InstanceStatusReady)

	woken := make(chan client.ObjectKey, 3)
	d.tick(time.Now(), time.Hour, obs, func(k client.ObjectKey) { woken <- k })
	got := map[client.ObjectKey]bool{}
	for len(got) < 2 {
		select {
		case k := <-woken:
			got[k] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("woken after the refusal: %v, want %v and %v", got, web, api)
		}
	}
	if got[other] || !got[web] || !got[api] {
		t.Errorf("woken %v: want exactly the refused endpoint's sets", got)
	}
}

// A tick's list that kept no rows of a watched set's project (nobody asked for it since the
// endpoint was last forgotten) says nothing of the set: it is woken to look for itself, never
// left unwatched.
func TestDriftTickWakesASetWhoseProjectTheListDidNotKeep(t *testing.T) {
	talisAPI := &listedInstance{}
	talisAPI.status.Store(talis.InstanceStatusReady)
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	start := time.Now()
	d := &driftWatch{
		sets: map[client.ObjectKey]watchedSet{key: {endpoint: "ep", project: 7, seenAt: start.Add(-time.Minute),
			instances: map[int64]instanceView{1: {state: string(talis.InstanceStatusReady)}}}},
		endpoints: map[string]*driftEndpoint{"ep": {api: talisAPI, sets: 1, compared: start.Add(-time.Hour)}},
	}
	woken := make(chan client.ObjectKey, 1)
	d.tick(time.Now(), time.Hour, observer.New(0), func(k client.ObjectKey) { woken <- k })
	select {
	case k := <-woken:
		if k != key {
			t.Fatalf("woke %v, want %v", k, key)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the set was not woken, and a list that covers its project is never taken for it")
	}
}
