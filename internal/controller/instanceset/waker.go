package instanceset

import (
	"context"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// waker enqueues sets from outside the informers: the observer wakes the sets that waited for
// an instance list once it has been made.
type waker struct {
	mu  sync.Mutex
	ctx context.Context
	q   workqueue.TypedRateLimitingInterface[reconcile.Request]
}

func (w *waker) start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx, w.q = ctx, q
}

// context lives as long as the controller.
func (w *waker) context() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return context.Background()
	}
	return w.ctx
}

func (w *waker) wake(key client.ObjectKey) {
	w.mu.Lock()
	q := w.q
	w.mu.Unlock()
	if q != nil {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// Wake reconciles the set soon: the outputs reconciler calls it when its verdict changed.
func (r *Reconciler) Wake(key client.ObjectKey) { r.waker.wake(key) }
