package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// runOpts says what a convergence run measures besides the operator.
type runOpts struct {
	baseline, floor, probes bool
	tasksPerSecond          int // the emulators' dispatch cap; noTaskCap: none
	foreign                 int // ready instances of other owners seeded before the manager starts
	// timeout replaces --phase-timeout; with tolerateTimeout, sets still not Ready then are
	// recorded (Convergence.NotReady) and the run is measured as it stands instead of failing.
	timeout         time.Duration
	tolerateTimeout bool
	managerEnv      []string // added to the manager's environment, e.g. GOMEMLIMIT
}

// convergence applies n sets at once to a fresh manager and emulator and waits until all are
// Ready; o.baseline also runs the direct-API baseline for the same n. The emulator is returned
// (still running) for the steady-state phase.
func (b *bench) convergence(ctx context.Context, name string, n int, o runOpts) (Convergence, *talisServer, error) {
	c := b.c
	ns := "bench-" + name
	projects := projectsFor(n, c.setsPerProject)
	out := Convergence{Name: name, N: n, Replicas: c.replicas, Projects: projects, TasksPerSecond: max(0, o.tasksPerSecond)}
	capNote := "no dispatch cap"
	if o.tasksPerSecond > 0 {
		capNote = fmt.Sprintf("Talis dispatching %d tasks/s per priority", o.tasksPerSecond)
	}
	logf("== %s: %d sets × %d replicas in %d projects, %s", name, n, c.replicas, projects, capNote)

	if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return out, nil, err
	}
	emu, talisURL, err := b.newEmulator(o.tasksPerSecond)
	if err != nil {
		return out, nil, err
	}
	if o.foreign > 0 {
		d, err := seedForeign(ctx, emu, o.foreign)
		if err != nil {
			emu.Close()
			return out, nil, fmt.Errorf("seeding foreign instances: %w", err)
		}
		out.ForeignInstances, out.SeedSeconds = o.foreign, round3(d.Seconds())
		logf("seeded %d ready instances of other owners in %s", o.foreign, d.Round(time.Millisecond))
	}
	mgr, err := startManager(ctx, c, b.kubeconfig, b.dir, name, talisURL, ns, o.managerEnv)
	if err != nil {
		emu.Close()
		return out, nil, err
	}
	defer mgr.shutdown()
	fail := func(err error) (Convergence, *talisServer, error) {
		emu.Close()
		return out, nil, err
	}

	started := time.Now()
	if err := b.createProjects(ctx, ns, projects); err != nil {
		return fail(err)
	}
	// The baseline runs while the manager warms up (it is idle: no set exists yet).
	if o.baseline {
		bl, err := b.baseline(ctx, name, n, projects, o.tasksPerSecond)
		if err != nil {
			return fail(fmt.Errorf("baseline: %w", err))
		}
		out.Baseline = &bl
	}
	if o.floor {
		fl, err := b.kubeFloor(ctx, name, n, c.floorWorkers)
		if err != nil {
			return fail(fmt.Errorf("Kubernetes floor: %w", err))
		}
		out.Floor = &fl
	}
	// A manager that has run for longer than its create ambiguity window knows every create
	// that could still land; only then can a new set act on the latest list instead of waiting
	// for one taken after it was created. Production managers run for days.
	if wait := c.warmup - time.Since(started); wait > 0 {
		logf("letting the manager warm up for %s (--warmup)", wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(wait):
		}
	}
	w := newReadyWatcher(n, c.replicas)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go w.run(wctx, b.k8s, ns)
	if err := w.waitSynced(ctx); err != nil {
		return fail(err)
	}

	emu.resetStats()
	m0, err := mgr.scrape()
	if err != nil {
		return fail(err)
	}
	cpu0 := mgr.usage().CPUSeconds
	cp0 := controlPlaneCPU()
	kube0 := b.scrapeKube(ctx)
	if c.pprofDir != "" {
		go mgr.profile(c.pprofDir, name, "profile", c.pprofSeconds)
		go b.apiserverProfile(ctx, c.pprofDir, name, c.pprofSeconds)
	}

	// Apply every set at once, as `kubectl apply -f dir/` with many files would.
	t0 := time.Now()
	applyStart, err := b.applySets(ctx, ns, n)
	if err != nil {
		return fail(err)
	}
	out.Operator.ApplySeconds = time.Since(t0).Seconds()
	logf("applied %d sets in %.1fs", n, out.Operator.ApplySeconds)

	timeout := c.phaseTimeout
	if o.timeout > 0 {
		timeout = o.timeout
	}
	if err := w.wait(ctx, timeout, func() string {
		return fmt.Sprintf("%d/%d sets ready after %s", w.readyCount(), n, time.Since(t0).Round(time.Second))
	}); err != nil {
		if !o.tolerateTimeout || ctx.Err() != nil {
			return fail(err)
		}
		out.NotReady = n - w.readyCount()
		out.NotReadyReason = b.notReadyReason(ctx, ns, w.readyTimes(), n)
		logf("operator: %d/%d sets not Ready after %s: %s", out.NotReady, n, timeout, out.NotReadyReason)
	}
	op := &out.Operator
	op.WallSeconds, op.TTRP50, op.TTRP99, op.TTRMax = readyStats(w.readyTimes(), applyStart, t0)
	logf("operator: %d sets Ready in %.1fs (p50 %.2fs, p99 %.2fs per set)", n-out.NotReady, op.WallSeconds, op.TTRP50, op.TTRP99)

	if c.pprofDir != "" {
		mgr.profile(c.pprofDir, name, "heap", 0)
		mgr.profile(c.pprofDir, name, "mutex", 0)
		mgr.profile(c.pprofDir, name, "block", 0)
	}
	st := emu.Stats()
	op.setCalls(st.Requests, n)
	op.setBytes(emu.bytes.snapshot(), emu.bytes.servingSeconds(), n)
	m1, err := mgr.scrape()
	if err != nil {
		return fail(err)
	}
	op.Reconciles = map[string]float64{}
	for _, ctl := range []string{"talisinstanceset", "talisproject"} {
		sel := map[string]string{"controller": ctl}
		op.Reconciles[ctl] = m1.sum("controller_runtime_reconcile_total", sel) - m0.sum("controller_runtime_reconcile_total", sel)
	}
	op.ReconcilesPerSet = op.Reconciles["talisinstanceset"] / float64(n)
	u := mgr.usage()
	op.Manager = u
	op.Manager.CPUSeconds = u.CPUSeconds - cpu0
	op.ControlPlaneCPUSeconds = subtract(controlPlaneCPU(), cp0)
	op.setKube(kube0, b.scrapeKube(ctx), n)
	op.InstancesCreated = st.InstancesCreated
	if raw, err := b.kube.Discovery().RESTClient().Get().
		AbsPath("/apis", infrav1.GroupVersion.Group, infrav1.GroupVersion.Version, "namespaces", ns, "talisinstancesets", setName(0)).DoRaw(ctx); err == nil {
		op.ObjectBytes = len(raw)
		if c.pprofDir != "" {
			_ = os.WriteFile(filepath.Join(c.pprofDir, name+"-set.json"), raw, 0o644)
		}
	}

	// Apply latency: the set's create request left the harness → Talis stored its first instance.
	firstCreate := firstCreates(emu)
	var lat []float64
	for i := 0; i < n; i++ {
		if f, ok := firstCreate[setIdentity(ns, setName(i))]; ok {
			lat = append(lat, f.Sub(applyStart[i]).Seconds()*1000)
		}
	}
	out.ApplyLatency = latencyOf(lat)
	logf("operator: %d Talis calls (%.2f per set), %.0f reconciles, manager CPU %.1fs, peak RSS %.0f MiB, peak heap %.0f MiB; apply→create p50 %.0fms p99 %.0fms",
		op.Calls, op.CallsPerSet, op.Reconciles["talisinstanceset"], op.Manager.CPUSeconds, op.Manager.PeakRSSMiB, op.Manager.PeakHeapMiB,
		out.ApplyLatency.P50ms, out.ApplyLatency.P99ms)
	if st.InstancesCreated != int64(n*c.replicas) {
		return fail(fmt.Errorf("the emulator created %d instances for %d sets × %d", st.InstancesCreated, n, c.replicas))
	}
	wcancel()
	if o.probes {
		if out.PacedApplyLatency, err = b.pacedApplyLatency(ctx, ns, emu); err != nil {
			return fail(err)
		}
	}
	mgr.shutdown()

	if bl := out.Baseline; bl != nil {
		out.Ratio = &Ratio{Wall: round2(op.WallSeconds / bl.WallSeconds), Calls: round2(float64(op.Calls) / float64(bl.Calls)),
			TTRP50: round2(op.TTRP50 / bl.TTRP50)}
		logf("operator / baseline: wall %.2f×, calls %.2f×", out.Ratio.Wall, out.Ratio.Calls)
	}
	return out, emu, nil
}

// readyStats turns when each set became Ready into wall time (from t0) and time-to-ready
// percentiles (from each set's own create request). Sets never Ready are left out of the
// percentiles and make the wall time run to now.
func readyStats(ready map[string]time.Time, applyStart []time.Time, t0 time.Time) (wall, p50, p99, worst float64) {
	last := t0
	ttr := make([]float64, 0, len(applyStart))
	for i := range applyStart {
		at, ok := ready[setName(i)]
		if !ok {
			at = time.Now()
			if at.After(last) {
				last = at
			}
			continue
		}
		ttr = append(ttr, at.Sub(applyStart[i]).Seconds())
		if at.After(last) {
			last = at
		}
	}
	return last.Sub(t0).Seconds(), pct(ttr, 50), pct(ttr, 99), pct(ttr, 100)
}

// firstCreates maps each set identity to when Talis stored its first instance (the emulator's
// ledger; same clock as the harness).
func firstCreates(emu *talisServer) map[string]time.Time {
	first := map[string]time.Time{}
	for _, e := range emu.Ledger() {
		for _, t := range e.Tags {
			if id, ok := harness.IdentityOfTag(t); ok {
				if f, seen := first[id]; !seen || e.CreatedAt.Before(f) {
					first[id] = e.CreatedAt
				}
			}
		}
	}
	return first
}

func latencyOf(ms []float64) Latency {
	return Latency{Sets: len(ms), P50ms: pct(ms, 50), P99ms: pct(ms, 99), MaxMs: pct(ms, 100)}
}
