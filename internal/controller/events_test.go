package controller

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// countingEvents counts the event creates a sender makes, and can hold them.
type countingEvents struct {
	eventsv1client.EventsV1Interface
	created, inFlight, most atomic.Int32
	hold                    chan struct{} // if set, creates wait until it is closed
	discard                 bool          // creates keep nothing (the fake's store is slow with thousands)
}

func (c *countingEvents) Events(ns string) eventsv1client.EventInterface {
	return countingEventInterface{EventInterface: c.EventsV1Interface.Events(ns), c: c}
}

type countingEventInterface struct {
	eventsv1client.EventInterface
	c *countingEvents
}

func (i countingEventInterface) Create(ctx context.Context, e *eventsv1.Event, opts metav1.CreateOptions) (*eventsv1.Event, error) {
	n := i.c.inFlight.Add(1)
	defer i.c.inFlight.Add(-1)
	for m := i.c.most.Load(); n > m && !i.c.most.CompareAndSwap(m, n); m = i.c.most.Load() {
	}
	if i.c.hold != nil {
		<-i.c.hold
	}
	defer i.c.created.Add(1)
	if i.c.discard {
		return e, nil
	}
	return i.EventInterface.Create(ctx, e, opts)
}

func startEventSender(t *testing.T, cs *countingEvents) *eventSender {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := infrav1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	s, err := newEventSender(cs, scheme)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func eventsIn(t *testing.T, cs *countingEvents, ns string) []eventsv1.Event {
	t.Helper()
	list, err := cs.EventsV1Interface.Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	gomega.NewWithT(t).Eventually(cond, 10*time.Second, 10*time.Millisecond).Should(gomega.BeTrue(), what)
}

func testSet(name string) *infrav1.TalisInstanceSet {
	return &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "7"}}
}

// Each event is created once; the same event again (same object version, reason and action)
// is folded into the first one's series, as client-go's own sender does.
func TestEventSenderFoldsRepeatsIntoASeries(t *testing.T) {
	cs := &countingEvents{EventsV1Interface: fake.NewClientset().EventsV1()}
	rec := startEventSender(t, cs).recorder("test-controller")
	set := testSet("web")
	rec.Eventf(set, nil, "Normal", "Creating", "Reconcile", "creating instances")
	waitFor(t, "the first event created", func() bool { return len(eventsIn(t, cs, "ns")) == 1 })
	rec.Eventf(set, nil, "Normal", "Creating", "Reconcile", "creating instances")
	rec.Eventf(set, nil, "Normal", "Creating", "Reconcile", "creating instances")
	waitFor(t, "the repeats counted in one series", func() bool {
		evs := eventsIn(t, cs, "ns")
		return len(evs) == 1 && evs[0].Series != nil && evs[0].Series.Count == 3
	})
	rec.Eventf(set, nil, "Normal", "Ready", "Reconcile", "3/3 instances ready")
	waitFor(t, "another reason is another event", func() bool { return len(eventsIn(t, cs, "ns")) == 2 })
	for _, e := range eventsIn(t, cs, "ns") {
		if e.Regarding.Name != "web" || e.ReportingController != "test-controller" || e.EventTime.IsZero() {
			t.Errorf("event not built as client-go's recorder builds it: %+v", e)
		}
	}
}

// What the sender remembers to fold repeats into is bounded, however many events it sent:
// client-go's sender kept every event of the last six minutes.
func TestEventSenderRemembersABoundedNumberOfEvents(t *testing.T) {
	cs := &countingEvents{EventsV1Interface: fake.NewClientset().EventsV1(), discard: true}
	s := startEventSender(t, cs)
	rec := s.recorder("test-controller")
	const n = rememberedEvents + 500
	for i := range n {
		rec.Eventf(testSet(fmt.Sprintf("s%05d", i)), nil, "Normal", "Ready", "Reconcile", "ready")
	}
	waitFor(t, "every event created", func() bool { return cs.created.Load() == n })
	if kept := len(s.sent.Keys()); kept > rememberedEvents {
		t.Errorf("the sender remembers %d events, want at most %d", kept, rememberedEvents)
	}
}

// No more than eventWorkers requests are in flight at once, however many events wait.
func TestEventSenderSendsWithAFixedNumberOfWorkers(t *testing.T) {
	cs := &countingEvents{EventsV1Interface: fake.NewClientset().EventsV1(), hold: make(chan struct{})}
	rec := startEventSender(t, cs).recorder("test-controller")
	for i := range 50 {
		rec.Eventf(testSet(fmt.Sprintf("s%02d", i)), nil, "Normal", "Ready", "Reconcile", "ready")
	}
	waitFor(t, "the workers busy", func() bool { return cs.inFlight.Load() == eventWorkers })
	time.Sleep(100 * time.Millisecond) // a sender with more workers would have started more by now
	close(cs.hold)
	waitFor(t, "every event created", func() bool { return cs.created.Load() == 50 })
	if m := cs.most.Load(); m > eventWorkers {
		t.Errorf("%d event requests were in flight at once, want at most %d", m, eventWorkers)
	}
}

// A burst of events told while the API server is slow waits to be sent instead of being
// dropped: 5,000 sets applied at once tell 5,000 Creating events within seconds.
func TestEventSenderKeepsABurstWhileTheAPIServerIsSlow(t *testing.T) {
	cs := &countingEvents{EventsV1Interface: fake.NewClientset().EventsV1(), hold: make(chan struct{}), discard: true}
	rec := startEventSender(t, cs).recorder("test-controller")
	const n = 5000
	for i := range n {
		rec.Eventf(testSet(fmt.Sprintf("s%05d", i)), nil, "Normal", "Creating", "Reconcile", "creating 3 instance(s)")
	}
	waitFor(t, "the workers busy", func() bool { return cs.inFlight.Load() == eventWorkers })
	close(cs.hold)
	waitFor(t, "every event created", func() bool { return cs.created.Load() == n })
}
