package main

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// kubeFloor measures what Kubernetes alone costs: the same N sets applied the same way, driven
// to Ready by a bare in-process controller that makes only the writes no crash-safe operator
// can skip — finalizer, intent, Ready — with the emulator's delays as plain timers in between,
// no Talis, no logic, no Events. The operator cannot beat it on this machine; the gap between
// the two is what the operator itself costs.
func (b *bench) kubeFloor(ctx context.Context, name string, n, workers int) (RunResult, error) {
	c := b.c
	var out RunResult
	ns := "bench-" + name + "-floor"
	if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return out, err
	}
	w := newReadyWatcher(n, c.replicas)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go w.run(ctx, b.k8s, ns)
	if err := w.waitSynced(ctx); err != nil {
		return out, err
	}
	fc := &floorController{k8s: b.k8s, replicas: c.replicas, talisTime: c.pickup + c.createDelay + c.readyDelay,
		jobs: make(chan func() error, 2*n)}
	fc.start(ctx, ns, workers)
	cp0, kube0 := controlPlaneCPU(), b.scrapeKube(ctx)

	t0 := time.Now()
	applyStart, err := b.applySets(ctx, ns, n)
	if err != nil {
		return out, err
	}
	out.ApplySeconds = time.Since(t0).Seconds()
	if err := w.wait(ctx, c.phaseTimeout, func() string {
		return fmt.Sprintf("floor: %d/%d sets ready after %s", w.readyCount(), n, time.Since(t0).Round(time.Second))
	}); err != nil {
		return out, err
	}
	if err := fc.error(); err != nil {
		return out, fmt.Errorf("floor controller: %w", err)
	}
	out.WallSeconds, out.TTRP50, out.TTRP99, out.TTRMax = readyStats(w.readyTimes(), applyStart, t0)
	intents := fc.intentTimes()
	var lat []float64
	for i := range n {
		if at, ok := intents[setName(i)]; ok {
			lat = append(lat, at.Sub(applyStart[i]).Seconds()*1000)
		}
	}
	il := latencyOf(lat)
	out.IntentLatency = &il
	out.ControlPlaneCPUSeconds = subtract(controlPlaneCPU(), cp0)
	out.setKube(kube0, b.scrapeKube(ctx), n)
	logf("Kubernetes floor: all %d sets Ready in %.1fs (p50 %.2fs, p99 %.2fs), kube-apiserver CPU %.1fs; apply→intent written p50 %.0fms p99 %.0fms",
		n, out.WallSeconds, out.TTRP50, out.TTRP99, out.ControlPlaneCPUSeconds["kube-apiserver"], out.IntentLatency.P50ms, out.IntentLatency.P99ms)
	return out, nil
}

// floorController is the least a crash-safe operator must write per set: a finalizer before
// anything exists outside Kubernetes, the intent before the create call, and Ready at the end.
type floorController struct {
	k8s       client.WithWatch
	replicas  int
	talisTime time.Duration
	jobs      chan func() error // both steps go through the same workers

	mu       sync.Mutex
	firstErr error
	intents  map[string]time.Time // set name → its intent was written
	nextID   atomic.Int64
}

func (f *floorController) intentWritten(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.intents == nil {
		f.intents = map[string]time.Time{}
	}
	f.intents[name] = time.Now()
}

func (f *floorController) intentTimes() map[string]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.intents)
}

func (f *floorController) start(ctx context.Context, ns string, workers int) {
	go f.watch(ctx, ns)
	for range workers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-f.jobs:
					if err := job(); err != nil && ctx.Err() == nil {
						f.fail(err)
					}
				}
			}
		}()
	}
}

// watch queues every set once.
func (f *floorController) watch(ctx context.Context, ns string) {
	queued := map[string]bool{}
	listWatch(ctx, f.k8s, ns, nil, func(s *infrav1.TalisInstanceSet, _ time.Time) {
		if !queued[s.Name] {
			queued[s.Name] = true
			f.jobs <- func() error { return f.begin(ctx, s) }
		}
	})
}

func (f *floorController) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstErr == nil {
		f.firstErr = err
		logf("floor controller: %v", err)
	}
}

func (f *floorController) error() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.firstErr
}

// begin writes the finalizer and the intent, then finishes the set once Talis would have.
func (f *floorController) begin(ctx context.Context, s *infrav1.TalisInstanceSet) error {
	base := s.DeepCopy()
	s.Finalizers = append(s.Finalizers, infrav1.Finalizer)
	if err := f.k8s.Patch(ctx, s, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	now := metav1.Now()
	st := &s.Status
	st.ObservedGeneration, st.LastCreateAttempt, st.TemplateHash, st.ProjectName = s.Generation, 1, "0123456789", "floor"
	st.PendingCreate = &infrav1.PendingCreate{Attempt: 1, Count: int32(f.replicas), TemplateHash: st.TemplateHash, RequestedAt: now}
	setFloorConditions(s, false)
	if err := f.k8s.Status().Update(ctx, s); err != nil {
		return err
	}
	f.intentWritten(s.Name)
	time.AfterFunc(f.talisTime, func() { f.jobs <- func() error { return f.finish(ctx, s) } })
	return nil
}

func (f *floorController) finish(ctx context.Context, s *infrav1.TalisInstanceSet) error {
	now := metav1.Now()
	st := &s.Status
	st.PendingCreate = nil
	for i := range f.replicas {
		id := f.nextID.Add(1)
		ip := fmt.Sprintf("203.0.%d.%d", id/250%250, id%250+1)
		st.Instances = append(st.Instances, infrav1.TalisInstance{ID: id, Name: fmt.Sprintf("%s-a1-%d", s.Name, i+1),
			State: "ready", PublicIP: ip, ProviderInstanceID: 400000000 + id, CreateAttempt: 1,
			TemplateHash: st.TemplateHash, CreatedAt: &now, ReadyAt: &now})
		st.PublicIPs = append(st.PublicIPs, ip)
	}
	st.Replicas, st.ReadyReplicas, st.UpdatedReplicas = int32(f.replicas), int32(f.replicas), int32(f.replicas)
	setFloorConditions(s, true)
	err := f.k8s.Status().Update(ctx, s)
	if apierrors.IsConflict(err) {
		return fmt.Errorf("set %s changed under the floor controller: %w", s.Name, err)
	}
	return err
}

func setFloorConditions(s *infrav1.TalisInstanceSet, ready bool) {
	set := func(t string, status bool, reason string) {
		v := metav1.ConditionFalse
		if status {
			v = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{Type: t, Status: v, Reason: reason, ObservedGeneration: s.Generation})
	}
	if ready {
		set(infrav1.ConditionReady, true, "Ready")
		set(infrav1.ConditionProgressing, false, "AsExpected")
		set(infrav1.ConditionReconciling, false, "AsExpected")
	} else {
		set(infrav1.ConditionReady, false, "Creating")
		set(infrav1.ConditionProgressing, true, "Creating")
		set(infrav1.ConditionReconciling, true, "Creating")
	}
	set(infrav1.ConditionDegraded, false, "AsExpected")
	set(infrav1.ConditionStalled, false, "AsExpected")
}
