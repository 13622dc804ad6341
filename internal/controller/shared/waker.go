package shared

import (
	"context"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Waker enqueues objects from outside the informers: the observer wakes the sets that waited
// for an instance list once it has been made, the sweep the projects it found strays in.
type Waker struct {
	mu  sync.Mutex
	ctx context.Context
	q   workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// Start hands the waker the controller's queue; wakes before it are dropped.
func (w *Waker) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx, w.q = ctx, q
}

// Context lives as long as the controller.
func (w *Waker) Context() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return context.Background()
	}
	return w.ctx
}

// Wake reconciles the object soon.
func (w *Waker) Wake(key client.ObjectKey) {
	w.mu.Lock()
	q := w.q
	w.mu.Unlock()
	if q != nil {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}
