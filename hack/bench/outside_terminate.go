package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// driftAtDefaults restarts the manager with its default flags over n Ready sets and terminates
// one instance each of driftSamples sets from outside, one after another. Each terminate waits a
// random part of the drift interval first, so that the samples fall anywhere in its cycle.
// Victims are sets firstVictim, firstVictim+1, … (earlier phases used the ones before).
func (b *bench) driftAtDefaults(ctx context.Context, name string, n int, emu *talisServer, firstVictim, sets int) (*DriftAtDefaults, error) {
	c := b.c
	ns := "bench-" + name
	out := &DriftAtDefaults{Sets: n, DriftInterval: defaultDriftInterval.String(), ResyncPeriod: defaultResync.String()}
	logf("== %s drift at the defaults: %d outside terminates (--drift-interval %s, --resync-period %s)",
		name, c.driftSamples, defaultDriftInterval, defaultResync)
	mgr, err := startManager(ctx, c, b.kubeconfig, b.dir, name+"-drift-defaults", emu.URL(), ns, nil)
	if err != nil {
		return nil, err
	}
	defer mgr.shutdown()
	if err := b.waitReconciled(ctx, mgr, n); err != nil {
		return nil, err
	}
	var deg, ready []float64
	for i := range c.driftSamples {
		wait := rand.N(defaultDriftInterval)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		ot, err := b.outsideTerminate(ctx, ns, setName((firstVictim+i)%sets), emu.URL())
		if err != nil {
			return nil, err
		}
		ot.WaitedSeconds = round3(wait.Seconds())
		out.Samples = append(out.Samples, ot)
		deg, ready = append(deg, ot.DegradedSeconds), append(ready, ot.ReadySeconds)
	}
	out.DegradedP50, out.DegradedMax = pct(deg, 50), pct(deg, 100)
	out.ReadyP50, out.ReadyMax = pct(ready, 50), pct(ready, 100)
	return out, nil
}

// outsideTerminate terminates one ready instance of a Ready set through pkg/talis, as a user
// would, and times the set, through a watch, to Degraded=True with reason
// InstanceTerminatedExternally and then to Ready with every replica ready and the victim gone.
func (b *bench) outsideTerminate(ctx context.Context, ns, name, talisURL string) (OutsideTerminate, error) {
	out := OutsideTerminate{Set: name}
	var s infrav1.TalisInstanceSet
	if err := b.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return out, err
	}
	for _, in := range s.Status.Instances {
		if in.State == string(talis.InstanceStatusReady) && in.TerminatingSince == nil && in.TerminatedAt == nil {
			out.InstanceID = in.ID
			break
		}
	}
	if out.InstanceID == 0 || s.Status.ProjectName == "" {
		return out, fmt.Errorf("set %s has no ready instance to terminate", name)
	}
	var p infrav1.TalisProject
	if err := b.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: s.Spec.ProjectRef.Name}, &p); err != nil {
		return out, err
	}
	owner := uint(p.Status.OwnerID)
	if owner == 0 {
		owner = talis.AdminOwnerID
	}
	opts := talis.DefaultOptions()
	opts.BaseURL, opts.UserAgent = talisURL, "talis-bench-user"
	cl, err := talis.NewClient(opts)
	if err != nil {
		return out, err
	}

	var (
		mu                  sync.Mutex
		t0, degraded, ready time.Time
	)
	done, synced := make(chan struct{}), make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go listWatch(wctx, b.k8s, ns, func() { close(synced) }, func(x *infrav1.TalisInstanceSet, at time.Time) {
		if x.Name != name {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case t0.IsZero() || !ready.IsZero():
		case degraded.IsZero():
			if c := meta.FindStatusCondition(x.Status.Conditions, infrav1.ConditionDegraded); c != nil &&
				c.Status == metav1.ConditionTrue && c.Reason == infrav1.ReasonInstanceTerminated {
				degraded = at
			}
		case replaced(x, out.InstanceID, b.c.replicas):
			ready = at
			close(done)
		}
	})
	select {
	case <-synced:
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(time.Minute):
		return out, fmt.Errorf("watch never started")
	}
	mu.Lock()
	t0 = time.Now()
	mu.Unlock()
	if err := cl.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: owner, ProjectName: s.Status.ProjectName,
		InstanceIDs: []uint{uint(out.InstanceID)}}); err != nil {
		return out, fmt.Errorf("terminating instance %d from outside: %w", out.InstanceID, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(b.c.phaseTimeout):
		mu.Lock()
		defer mu.Unlock()
		return out, fmt.Errorf("set %s after an outside terminate of instance %d: Degraded seen %v, Ready again %v within %s",
			name, out.InstanceID, !degraded.IsZero(), !ready.IsZero(), b.c.phaseTimeout)
	}
	mu.Lock()
	defer mu.Unlock()
	out.DegradedSeconds, out.ReadySeconds = round3(degraded.Sub(t0).Seconds()), round3(ready.Sub(t0).Seconds())
	logf("outside terminate of instance %d of %s: Degraded after %.2fs, Ready again after %.2fs",
		out.InstanceID, name, out.DegradedSeconds, out.ReadySeconds)
	return out, nil
}

// replaced: the set is Ready for its generation with every replica ready and victim not among them.
func replaced(s *infrav1.TalisInstanceSet, victim int64, replicas int) bool {
	c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != s.Generation || int(s.Status.ReadyReplicas) != replicas {
		return false
	}
	for _, in := range s.Status.Instances {
		if in.ID == victim && in.TerminatedAt == nil && in.State != string(talis.InstanceStatusTerminated) {
			return false
		}
	}
	return true
}
