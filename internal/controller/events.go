package controller

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/cache"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// The reconcilers' events are built by client-go's events.k8s.io recorder and sent by
// eventSender. client-go's own sender keeps every event it sent for six minutes (to fold
// repeats into a series) and sends each from a goroutine of its own: after a burst of 5,000
// sets that was a fifth of the manager's live heap, and thousands of requests at once. The
// objects' resourceVersion is part of what makes two events the same, so the operator's
// events, told on changes, are hardly ever repeats.
const (
	eventWorkers = 8
	// eventQueue events wait for a worker: a burst of 5,000 new sets tells 5,000 Creating
	// events faster than a busy API server takes them. Beyond them (and client-go's own
	// queue of 1,000), the recorder drops events rather than block a reconcile. A waiting
	// event is ~1 KiB, and only held until sent.
	eventQueue = 16384
	// rememberedEvents are the most events kept to fold repeats into, each for seriesWindow.
	rememberedEvents = 4096
	seriesWindow     = 6 * time.Minute
	eventAttempts    = 3
	eventRetryDelay  = 2 * time.Second
)

type eventSender struct {
	broadcaster events.EventBroadcaster
	client      eventsv1client.EventsGetter
	scheme      *runtime.Scheme
	// queues has one queue per worker; an object's events all go through the same one, so
	// they are sent in the order told and a repeat finds the event it repeats already sent.
	queues  [eventWorkers]chan *eventsv1.Event
	stopped chan struct{}         // once closed, nothing is queued any more
	sent    *cache.LRUExpireCache // eventKey → *sentEvent
}

// sentEvent is what a repeat needs of the event it repeats.
type sentEvent struct {
	namespace, name string
	count           int32
}

// eventKey is what makes two events the same (client-go's rule): all but the note and time.
type eventKey struct {
	eventType, action, reason, reportingController, reportingInstance string
	regarding, related                                                corev1.ObjectReference
}

func newEventSender(client eventsv1client.EventsV1Interface, scheme *runtime.Scheme) (*eventSender, error) {
	s := &eventSender{
		// The sink is never started: eventSender reads the events from a watcher instead.
		broadcaster: events.NewBroadcaster(&events.EventSinkImpl{Interface: client}),
		client:      client, scheme: scheme,
		stopped: make(chan struct{}),
		sent:    cache.NewLRUExpireCache(rememberedEvents),
	}
	for i := range s.queues {
		s.queues[i] = make(chan *eventsv1.Event, eventQueue/eventWorkers)
	}
	// Watched from now, not from the manager's start: an event told before would be dropped.
	_, err := s.broadcaster.StartEventWatcher(func(o runtime.Object) {
		if e, ok := o.(*eventsv1.Event); ok {
			select {
			case s.queues[workerOf(e)] <- e:
			case <-s.stopped:
			}
		}
	})
	return s, err
}

func newManagerEventSender(mgr ctrl.Manager) (*eventSender, error) {
	client, err := eventsv1client.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	s, err := newEventSender(client, mgr.GetScheme())
	if err != nil {
		return nil, err
	}
	return s, mgr.Add(s)
}

// Start sends events until ctx ends.
func (s *eventSender) Start(ctx context.Context) error {
	for _, queue := range s.queues {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-queue:
					s.send(ctx, e)
				}
			}
		}()
	}
	<-ctx.Done()
	close(s.stopped)
	s.broadcaster.Shutdown()
	return nil
}

// NeedLeaderElection: a standby records nothing, and its queue is empty.
func (s *eventSender) NeedLeaderElection() bool { return false }

func (s *eventSender) recorder(controller string) shared.ClippedRecorder {
	return shared.ClippedRecorder{EventRecorder: s.broadcaster.NewRecorder(s.scheme, controller)}
}

// send creates e, or folds it into the series of the same event sent within seriesWindow.
func (s *eventSender) send(ctx context.Context, e *eventsv1.Event) {
	key := keyOf(e)
	for attempt := 1; ; attempt++ {
		err := s.sendOnce(ctx, key, e)
		var status apierrors.APIStatus
		if err == nil || errors.As(err, &status) || attempt == eventAttempts {
			// The API server answered: another attempt would be refused the same way.
			if err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "event not recorded", "reason", e.Reason, "regarding", e.Regarding.Name)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventRetryDelay):
		}
	}
}

func (s *eventSender) sendOnce(ctx context.Context, key eventKey, e *eventsv1.Event) error {
	if v, ok := s.sent.Get(key); ok {
		prev := v.(*sentEvent)
		count := prev.count + 1
		patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NowMicro()}})
		if err != nil {
			return err
		}
		_, err = s.client.Events(prev.namespace).Patch(ctx, prev.name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			s.sent.Add(key, &sentEvent{namespace: prev.namespace, name: prev.name, count: count}, seriesWindow)
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		s.sent.Remove(key) // gone (its TTL in the API server): told anew
	}
	created, err := s.client.Events(e.Namespace).Create(ctx, e, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	s.sent.Add(key, &sentEvent{namespace: created.Namespace, name: created.Name, count: 1}, seriesWindow)
	return nil
}

func workerOf(e *eventsv1.Event) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(e.Regarding.Namespace + "/" + e.Regarding.Name))
	return int(h.Sum32() % eventWorkers)
}

func keyOf(e *eventsv1.Event) eventKey {
	k := eventKey{eventType: e.Type, action: e.Action, reason: e.Reason, reportingController: e.ReportingController,
		reportingInstance: e.ReportingInstance, regarding: e.Regarding}
	if e.Related != nil {
		k.related = *e.Related
	}
	return k
}
