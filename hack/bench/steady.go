package main

import (
	"context"
	"fmt"
	"time"
)

// The manager's defaults for the clocks that drive steady-state Talis calls.
const (
	defaultResync        = 10 * time.Minute
	defaultMinList       = time.Second
	defaultDriftInterval = 30 * time.Second
	// defaultTalisRateLimit is --talis-rate-limit's default, requests per second: a clock too.
	defaultTalisRateLimit = 10
)

// steadyPhases measures the Ready sets of a convergence run (and its paced-latency probe sets,
// Ready sets in the first project): compressed steady state with the drift poll and without it,
// then, for the first steady size, outside terminates at the default clocks.
func (b *bench) steadyPhases(ctx context.Context, name string, n int, emu *talisServer) error {
	c := b.c
	sets, projects := n+c.probeSets, projectsFor(n, c.setsPerProject)
	drifts := []bool{true}
	if c.steadyNoDrift {
		drifts = append(drifts, false)
	}
	for i, drift := range drifts {
		st, err := b.steady(ctx, name, sets, projects, emu, drift, setName(i%n))
		if err != nil {
			return fmt.Errorf("steady state N=%d (drift %v): %w", n, drift, err)
		}
		b.res.Steady = append(b.res.Steady, st)
	}
	if c.driftSamples > 0 && b.res.Drift == nil {
		d, err := b.driftAtDefaults(ctx, name, sets, emu, len(drifts), n)
		if err != nil {
			return fmt.Errorf("drift at the defaults N=%d: %w", n, err)
		}
		b.res.Drift = d
	}
	return nil
}

// steady measures the Talis calls of n Ready sets at the default resync and drift settings. An
// hour at the defaults (--resync-period 10m, --talis-min-list-interval 1s, --drift-interval 30s,
// or 0 without drift) is compressed k-fold: the manager is restarted with all of them divided by
// k and --talis-rate-limit (10/s) multiplied by k, every Talis call it makes is then k times as
// frequent, and the calls counted over the window are scaled by 3600s / (window × k). Startup reconciles (one per set after the restart) are left
// out of the window. After the window, one instance of victim is terminated from outside and the
// set timed to Degraded and back to Ready, on the compressed clocks (victim "": not).
func (b *bench) steady(ctx context.Context, name string, n, projects int, emu *talisServer, drift bool, victim string) (Steady, error) {
	c := b.c
	k := time.Duration(c.steadyK)
	resync, minList, driftInterval := defaultResync/k, defaultMinList/k, time.Duration(0)
	if drift {
		driftInterval = defaultDriftInterval / k
	}
	ns := "bench-" + name
	out := Steady{N: n, Projects: projects, Instances: n * c.replicas, K: c.steadyK, Endpoints: 1,
		CompressedResync: resync.String(), CompressedMinListInterval: minList.String(), DriftInterval: driftInterval.String(),
		WindowSeconds: c.steadyWindow.Seconds()}
	logf("== %s steady state: resync %s, min list interval %s, drift interval %s (defaults ÷ %d), window %s ≙ %s",
		name, resync, minList, driftInterval, c.steadyK, c.steadyWindow, c.steadyWindow*k)

	mgr, err := startManager(ctx, c, b.kubeconfig, b.dir, fmt.Sprintf("%s-steady-drift-%s", name, driftInterval), emu.URL(), ns, nil,
		"--resync-period", resync.String(), "--talis-min-list-interval", minList.String(), "--drift-interval", driftInterval.String(),
		"--talis-rate-limit", fmt.Sprint(defaultTalisRateLimit*c.steadyK))
	if err != nil {
		return out, err
	}
	defer mgr.shutdown()
	if err := b.waitReconciled(ctx, mgr, n); err != nil {
		return out, err
	}
	m0, err := mgr.scrape()
	if err != nil {
		return out, err
	}
	cpu0 := mgr.usage().CPUSeconds
	kube0 := b.scrapeKube(ctx)
	emu.resetStats()
	select {
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(c.steadyWindow):
	}
	st := emu.Stats()
	m1, err := mgr.scrape()
	if err != nil {
		return out, err
	}
	f := 3600 / (c.steadyWindow.Seconds() * float64(c.steadyK))
	out.Extrapolation = f
	out.CallsPerHourByRoute = map[string]float64{}
	for route, v := range st.Requests {
		out.CallsPerHourByRoute[route] = round2(float64(v) * f)
		out.CallsInWindow += v
	}
	out.CallsPerHour = round2(float64(out.CallsInWindow) * f)
	out.BytesPerHourByRoute = map[string]float64{}
	for route, v := range emu.bytes.snapshot() {
		out.BytesPerHourByRoute[route] = round2(float64(v) * f)
		out.BytesPerHour += round2(float64(v) * f)
	}
	out.ServingSecondsByRoute = emu.bytes.servingSeconds()
	out.CallsPerHourPerEndpoint = round2(out.CallsPerHour / float64(out.Endpoints))
	out.ListCallsPerHour = round2(float64(st.Requests[listRoute]) * f / float64(out.Endpoints))
	out.CallsPerHourPerProject = round2(out.CallsPerHour / float64(out.Projects))
	out.CallsPerHourPerSet = round3(out.CallsPerHour / float64(n))
	sel := map[string]string{"controller": "talisinstanceset"}
	out.ReconcilesPerHour = round2((m1.sum("controller_runtime_reconcile_total", sel) - m0.sum("controller_runtime_reconcile_total", sel)) * f)
	out.KubeWritesPerHour = map[string]float64{}
	for k, v := range kubeWrites(diffRequests(b.scrapeKube(ctx).requests, kube0.requests)) {
		out.KubeWritesPerHour[k] = round2(v * f)
	}
	out.ManagerCPUSecondsPerHour = round2((mgr.usage().CPUSeconds - cpu0) * f)
	u := mgr.usage()
	out.ManagerRSSMiB = round2(u.RSSMiB)
	logf("steady: %d calls in %s → %.0f Talis calls/hour per endpoint at default settings (%.0f lists, %.1f per project, %.3f per set), %.0f reconciles/hour",
		out.CallsInWindow, c.steadyWindow, out.CallsPerHourPerEndpoint, out.ListCallsPerHour, out.CallsPerHourPerProject, out.CallsPerHourPerSet, out.ReconcilesPerHour)

	if victim == "" {
		return out, nil
	}
	ot, err := b.outsideTerminate(ctx, ns, victim, emu.URL())
	if err != nil {
		return out, err
	}
	out.OutsideTerminate = &ot
	return out, nil
}

// listRoute is the shared instance list every set's observation comes from; pagesRoute is
// what the observer pages through instead when other owners' rows are most of that list.
const (
	listRoute  = "GET /api/v1/instances"
	pagesRoute = "RPC project.listInstances"
)

// waitReconciled lets a restart settle: every set reconciled once.
func (b *bench) waitReconciled(ctx context.Context, mgr *managerProc, n int) error {
	deadline := time.Now().Add(b.c.phaseTimeout)
	for {
		m, err := mgr.scrape()
		if err == nil && m.sum("controller_runtime_reconcile_total", map[string]string{"controller": "talisinstanceset"}) >= float64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sets not reconciled after the restart within %s", b.c.phaseTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
