package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// bench is what every phase shares: one control plane, one admin client.
type bench struct {
	c          *config
	cfg        *rest.Config
	k8s        client.WithWatch
	kube       kubernetes.Interface
	kubeconfig string
	dir        string
	res        *Results
}

func run(ctx context.Context, c *config) error {
	res := &Results{Generated: time.Now().UTC(), Command: commandLine(), Machine: describeMachine(),
		Settings: settingsOf(c)}
	res.LoadBefore = loadAvg()
	logf("machine: %s; load before: %s", res.Machine.Summary(), res.LoadBefore)

	dir, err := os.MkdirTemp("", "talis-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	logf("starting kube-apiserver and etcd (envtest binaries)")
	cp, err := harness.StartControlPlane()
	if err != nil {
		return fmt.Errorf("starting the control plane (run via `make bench`, which builds it): %w", err)
	}
	defer func() { _ = cp.Stop() }()
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = -1, 0 // the harness must never be the bottleneck
	// The manager runs with full rights, as `make run` would: the bench measures it, not its RBAC.
	kubeconfig, err := cp.AdminKubeconfig("bench")
	if err != nil {
		return err
	}
	k8s, err := client.NewWithWatch(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b := &bench{c: c, cfg: cfg, k8s: k8s, kube: kube, kubeconfig: kubeconfig, dir: dir, res: res}

	uncapped := runOpts{baseline: true, floor: c.floor, probes: c.probeSets > 0, tasksPerSecond: noTaskCap}
	for _, n := range c.sizes {
		name := fmt.Sprintf("conv-%d", n)
		conv, emu, err := b.convergence(ctx, name, n, uncapped)
		if err != nil {
			return fmt.Errorf("convergence N=%d: %w", n, err)
		}
		res.Convergence = append(res.Convergence, conv)
		if contains(c.steadySizes, n) {
			if err := b.steadyPhases(ctx, name, n, emu); err != nil {
				emu.Close()
				return err
			}
		}
		_ = emu.Close()
		_ = writeOutputs(c, res) // partial results survive a later failure
	}
	// What a real Talis does: its worker starts at most 10 tasks per second per priority.
	for _, n := range c.cappedSizes {
		conv, emu, err := b.convergence(ctx, fmt.Sprintf("capped-%d", n), n, runOpts{baseline: true, tasksPerSecond: c.tasksPerSecond})
		if err != nil {
			return fmt.Errorf("capped convergence N=%d: %w", n, err)
		}
		_ = emu.Close()
		res.Capped = append(res.Capped, conv)
		_ = writeOutputs(c, res)
	}
	if c.scale > 0 {
		sc, emu, err := b.convergence(ctx, fmt.Sprintf("scale-%d", c.scale), c.scale,
			runOpts{baseline: c.scaleBaseline, floor: c.floor, probes: c.probeSets > 0, tasksPerSecond: noTaskCap})
		if err != nil {
			return fmt.Errorf("scale N=%d: %w", c.scale, err)
		}
		emu.Close()
		res.Scale = &sc
	}
	res.LoadAfter = loadAvg()
	res.Finished = time.Now().UTC()
	logf("load after: %s", res.LoadAfter)
	return writeOutputs(c, res)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// noTaskCap turns the emulator's dispatch cap off (emulator.Config.TasksPerSecond < 0).
const noTaskCap = -1

// newEmulator starts an emulator with the bench's delays, dispatching at most tasksPerSecond
// tasks per second per priority (noTaskCap: as fast as the delays allow).
func (b *bench) newEmulator(tasksPerSecond int) (*emulator.Server, string, error) {
	emu := emulator.New(emulator.Config{TasksPerSecond: tasksPerSecond, Delays: emulator.Delays{
		Pickup: b.c.pickup, Create: b.c.createDelay, Ready: b.c.readyDelay,
		Provision: b.c.readyDelay, Terminate: 500 * time.Millisecond}})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return emu, url, nil
}

func projectsFor(n, perProject int) int { return (n + perProject - 1) / perProject }

func setName(i int) string     { return fmt.Sprintf("s%05d", i) }
func projectName(i int) string { return fmt.Sprintf("p%03d", i) }

// benchCluster is the manager's --cluster-id in benchmarks.
const benchCluster = "bench"

// setIdentity is the tio-set tag of a bench set, from the harness's own copy of the tag scheme.
func setIdentity(namespace, name string) string {
	return harness.SetIdentityIn(benchCluster, namespace, name)
}

func newSet(ns string, i, replicas, perProject int) *infrav1.TalisInstanceSet {
	return &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: setName(i)},
		Spec: infrav1.TalisInstanceSetSpec{
			ProjectRef: infrav1.LocalObjectReference{Name: projectName(i / perProject)},
			Replicas:   ptr.To(int32(replicas)),
			Template: infrav1.InstanceTemplate{Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb",
				Image: "ubuntu-22-04-x64", Tags: []string{"team:bench"},
				Volumes: []infrav1.Volume{{Name: "data", SizeGB: 10}}},
		}}
}

// runOpts says what a convergence run measures besides the operator.
type runOpts struct {
	baseline, floor, probes bool
	tasksPerSecond          int // the emulators' dispatch cap; noTaskCap: none
}

// convergence applies n sets at once to a fresh manager and emulator and waits until all are
// Ready; o.baseline also runs the direct-API baseline for the same n. The emulator is returned
// (still running) for the steady-state phase.
func (b *bench) convergence(ctx context.Context, name string, n int, o runOpts) (Convergence, *emulator.Server, error) {
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
	mgr, err := startManager(ctx, c, b.kubeconfig, b.dir, name, talisURL, ns)
	if err != nil {
		emu.Close()
		return out, nil, err
	}
	defer mgr.shutdown()
	fail := func(err error) (Convergence, *emulator.Server, error) {
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

	emu.ResetStats()
	m0, err := mgr.scrape()
	if err != nil {
		return fail(err)
	}
	cpu0 := mgr.usage().CPUSeconds
	cp0 := controlPlaneCPU()
	api0 := b.apiserverRequests(ctx)
	if c.pprofDir != "" {
		go mgr.profile(c.pprofDir, name, "profile", 20)
		go b.apiserverProfile(ctx, c.pprofDir, name, 20)
	}

	// Apply every set at once, as `kubectl apply -f dir/` with many files would.
	t0 := time.Now()
	applyStart, err := b.applySets(ctx, ns, n)
	if err != nil {
		return fail(err)
	}
	out.Operator.ApplySeconds = time.Since(t0).Seconds()
	logf("applied %d sets in %.1fs", n, out.Operator.ApplySeconds)

	if err := w.wait(ctx, c.phaseTimeout, func() string {
		return fmt.Sprintf("%d/%d sets ready after %s", w.readyCount(), n, time.Since(t0).Round(time.Second))
	}); err != nil {
		return fail(err)
	}
	op := &out.Operator
	op.WallSeconds, op.TTRP50, op.TTRP99, op.TTRMax = readyStats(w.readyTimes(), applyStart, t0)
	logf("operator: all %d sets Ready in %.1fs (p50 %.2fs, p99 %.2fs per set)", n, op.WallSeconds, op.TTRP50, op.TTRP99)

	if c.pprofDir != "" {
		mgr.profile(c.pprofDir, name, "heap", 0)
		mgr.profile(c.pprofDir, name, "mutex", 0)
		mgr.profile(c.pprofDir, name, "block", 0)
	}
	st := emu.Stats()
	op.setCalls(st.Requests, n)
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
	op.KubeWrites = diffRequests(b.apiserverRequests(ctx), api0)
	op.KubeWritesPerSet = map[string]float64{}
	for k, v := range op.KubeWrites {
		op.KubeWritesPerSet[k] = round2(v / float64(n))
	}
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

// applySets creates sets 0..n-1 from applyWorkers goroutines and says when each request left.
func (b *bench) applySets(ctx context.Context, ns string, n int) ([]time.Time, error) {
	c := b.c
	applyStart := make([]time.Time, n)
	err := forEach(n, c.applyWorkers, func(i int) error {
		s := newSet(ns, i, c.replicas, c.setsPerProject)
		applyStart[i] = time.Now()
		return b.k8s.Create(ctx, s)
	})
	if err != nil {
		return nil, fmt.Errorf("creating sets: %w", err)
	}
	return applyStart, nil
}

// readyStats turns when each set became Ready into wall time (from t0) and time-to-ready
// percentiles (from each set's own create request).
func readyStats(ready map[string]time.Time, applyStart []time.Time, t0 time.Time) (wall, p50, p99, worst float64) {
	last := t0
	ttr := make([]float64, 0, len(applyStart))
	for i := range applyStart {
		at := ready[setName(i)]
		ttr = append(ttr, at.Sub(applyStart[i]).Seconds())
		if at.After(last) {
			last = at
		}
	}
	return last.Sub(t0).Seconds(), pct(ttr, 50), pct(ttr, 99), pct(ttr, 100)
}

func (b *bench) createProjects(ctx context.Context, ns string, projects int) error {
	for i := range projects {
		p := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: projectName(i)},
			Spec: infrav1.TalisProjectSpec{Description: "benchmark project"}}
		if err := b.k8s.Create(ctx, p); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list infrav1.TalisProjectList
		if err := b.k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ok := 0
		for _, p := range list.Items {
			if p.Status.ProjectID != 0 {
				ok++
			}
		}
		if ok == projects {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d/%d projects created in Talis after 2 minutes", ok, projects)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// firstCreates maps each set identity to when Talis stored its first instance (the emulator's
// ledger; same clock as the harness).
func firstCreates(emu *emulator.Server) map[string]time.Time {
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

// pacedApplyLatency applies probe sets one at a time to the running manager, whose sets are
// all Ready: what a user applying a set to a live operator sees, without a burst's queueing.
func (b *bench) pacedApplyLatency(ctx context.Context, ns string, emu *emulator.Server) (*Latency, error) {
	c := b.c
	start := make([]time.Time, c.probeSets)
	for i := range c.probeSets {
		s := newSet(ns, 0, c.replicas, c.setsPerProject)
		s.Name = fmt.Sprintf("probe%03d", i)
		start[i] = time.Now()
		if err := b.k8s.Create(ctx, s); err != nil {
			return nil, fmt.Errorf("creating probe set: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.probeInterval):
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		first := firstCreates(emu)
		var lat []float64
		for i := range c.probeSets {
			if f, ok := first[setIdentity(ns, fmt.Sprintf("probe%03d", i))]; ok {
				lat = append(lat, f.Sub(start[i]).Seconds()*1000)
			}
		}
		if len(lat) == c.probeSets || time.Now().After(deadline) {
			l := latencyOf(lat)
			logf("paced apply → first create (%d sets, one per %s): p50 %.0fms p99 %.0fms", l.Sets, c.probeInterval, l.P50ms, l.P99ms)
			return &l, b.waitProbesReady(ctx, ns) // so that the steady-state window starts steady
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *bench) waitProbesReady(ctx context.Context, ns string) error {
	deadline := time.Now().Add(b.c.phaseTimeout)
	for {
		var list infrav1.TalisInstanceSetList
		if err := b.k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			s := &list.Items[i]
			c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
			if strings.HasPrefix(s.Name, "probe") && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation {
				ready++
			}
		}
		if ready == b.c.probeSets {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d/%d probe sets Ready after %s", ready, b.c.probeSets, b.c.phaseTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
