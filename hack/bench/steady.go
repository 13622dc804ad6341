package main

import (
	"context"
	"fmt"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// steady measures the Talis calls of n Ready sets at the default resync settings. An hour at
// the defaults (--resync-period 10m, --talis-min-list-interval 1s) is compressed k-fold: the
// manager is restarted with both divided by k, every Talis call it makes is then k times as
// frequent, and the calls counted over the window are scaled by 3600s / (window × k). Startup
// reconciles (one per set after the restart) are left out of the window.
func (b *bench) steady(ctx context.Context, name string, n, projects int, emu *emulator.Server) (Steady, error) {
	c := b.c
	k := time.Duration(c.steadyK)
	resync, minList := 10*time.Minute/k, time.Second/k
	ns := "bench-" + name
	out := Steady{N: n, Projects: projects, Instances: n * c.replicas, K: c.steadyK,
		CompressedResync: resync.String(), CompressedMinListInterval: minList.String(), WindowSeconds: c.steadyWindow.Seconds()}
	logf("== %s steady state: resync %s, min list interval %s (defaults ÷ %d), window %s ≙ %s",
		name, resync, minList, c.steadyK, c.steadyWindow, c.steadyWindow*k)

	mgr, err := startManager(ctx, c, b.kubeconfig, b.dir, name+"-steady", emu.URL(), ns,
		"--resync-period", resync.String(), "--talis-min-list-interval", minList.String())
	if err != nil {
		return out, err
	}
	defer mgr.shutdown()

	// Let the restart settle: every set reconciled once.
	deadline := time.Now().Add(c.phaseTimeout)
	for {
		m, err := mgr.scrape()
		if err == nil && m.sum("controller_runtime_reconcile_total", map[string]string{"controller": "talisinstanceset"}) >= float64(n) {
			break
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("sets not reconciled after the restart within %s", c.phaseTimeout)
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	m0, err := mgr.scrape()
	if err != nil {
		return out, err
	}
	cpu0 := mgr.usage().CPUSeconds
	api0 := b.apiserverRequests(ctx)
	emu.ResetStats()
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
	out.CallsPerHourPerProject = round2(out.CallsPerHour / float64(out.Projects))
	out.CallsPerHourPerSet = round3(out.CallsPerHour / float64(n))
	sel := map[string]string{"controller": "talisinstanceset"}
	out.ReconcilesPerHour = round2((m1.sum("controller_runtime_reconcile_total", sel) - m0.sum("controller_runtime_reconcile_total", sel)) * f)
	out.KubeWritesPerHour = map[string]float64{}
	for k, v := range diffRequests(b.apiserverRequests(ctx), api0) {
		out.KubeWritesPerHour[k] = round2(v * f)
	}
	out.ManagerCPUSecondsPerHour = round2((mgr.usage().CPUSeconds - cpu0) * f)
	u := mgr.usage()
	out.ManagerRSSMiB = round2(u.RSSMiB)
	logf("steady: %d calls in %s → %.0f Talis calls/hour at default settings (%.1f per project, %.3f per set), %.0f reconciles/hour",
		out.CallsInWindow, c.steadyWindow, out.CallsPerHour, out.CallsPerHourPerProject, out.CallsPerHourPerSet, out.ReconcilesPerHour)
	return out, nil
}
