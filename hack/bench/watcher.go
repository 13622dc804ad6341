package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// readyWatcher records when each set is first seen Ready (condition True for the current
// generation, with every replica ready) through one watch on the namespace.
type readyWatcher struct {
	n, replicas int
	synced      chan struct{}
	done        chan struct{}
	errs        chan error

	mu    sync.Mutex
	ready map[string]time.Time
}

func newReadyWatcher(n, replicas int) *readyWatcher {
	return &readyWatcher{n: n, replicas: replicas, synced: make(chan struct{}), done: make(chan struct{}),
		errs: make(chan error, 1), ready: map[string]time.Time{}}
}

func (w *readyWatcher) observe(s *infrav1.TalisInstanceSet, at time.Time) {
	c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != s.Generation ||
		int(s.Status.ReadyReplicas) != w.replicas {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, seen := w.ready[s.Name]; seen {
		return
	}
	w.ready[s.Name] = at
	if len(w.ready) == w.n {
		close(w.done)
	}
}

func (w *readyWatcher) run(ctx context.Context, k8s client.WithWatch, ns string) {
	listWatch(ctx, k8s, ns, func() { close(w.synced) }, w.observe)
}

// listWatch hands fn every set of ns as it is listed, added or modified, with when it was seen.
// A watch the API server closes (it drops watchers that fall behind under load) is resumed by a
// fresh list. synced runs once, when the first watch is open.
func listWatch(ctx context.Context, k8s client.WithWatch, ns string, synced func(), fn func(*infrav1.TalisInstanceSet, time.Time)) {
	for ctx.Err() == nil {
		var list infrav1.TalisInstanceSetList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			if ctx.Err() == nil {
				time.Sleep(200 * time.Millisecond)
			}
			continue
		}
		now := time.Now()
		for i := range list.Items {
			fn(&list.Items[i], now)
		}
		wi, err := k8s.Watch(ctx, &infrav1.TalisInstanceSetList{}, client.InNamespace(ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true}})
		if err != nil {
			continue
		}
		if synced != nil {
			synced()
			synced = nil
		}
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				break
			}
			if s, ok := ev.Object.(*infrav1.TalisInstanceSet); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				fn(s, time.Now())
			}
		}
		wi.Stop()
	}
}

func (w *readyWatcher) waitSynced(ctx context.Context) error {
	select {
	case <-w.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return fmt.Errorf("watch never started")
	}
}

func (w *readyWatcher) readyCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ready)
}

func (w *readyWatcher) readyTimes() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]time.Time, len(w.ready))
	for k, v := range w.ready {
		out[k] = v
	}
	return out
}

func (w *readyWatcher) wait(ctx context.Context, timeout time.Duration, progress func() string) error {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		select {
		case <-w.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("timed out: %s", progress())
		case <-tick.C:
			logf("  %s", progress())
		}
	}
}
