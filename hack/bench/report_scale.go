package main

import (
	"fmt"
	"slices"
)

// MemoryGrowth is what the manager's memory grows by per set between the largest convergence
// run and the scale run: the marginal cost of a set, without the fixed cost of the binary
// and of an idle manager.
type MemoryGrowth struct {
	FromSets      int     `json:"from_sets"`
	ToSets        int     `json:"to_sets"`
	FromHeapMiB   float64 `json:"from_peak_heap_inuse_mib"`
	ToHeapMiB     float64 `json:"to_peak_heap_inuse_mib"`
	FromRSSMiB    float64 `json:"from_peak_rss_mib"`
	ToRSSMiB      float64 `json:"to_peak_rss_mib"`
	HeapKiBPerSet float64 `json:"peak_heap_inuse_kib_per_set"`
	RSSKiBPerSet  float64 `json:"peak_rss_kib_per_set"`
}

func memoryGrowth(res *Results) *MemoryGrowth {
	sc := res.Scale
	if sc == nil {
		return nil
	}
	var from *Convergence
	for i := range res.Convergence {
		if cv := &res.Convergence[i]; cv.N < sc.N && (from == nil || cv.N > from.N) {
			from = cv
		}
	}
	if from == nil {
		return nil
	}
	a, z := from.Operator.Manager, sc.Operator.Manager
	sets := float64(sc.N - from.N)
	return &MemoryGrowth{FromSets: from.N, ToSets: sc.N,
		FromHeapMiB: round2(a.PeakHeapMiB), ToHeapMiB: round2(z.PeakHeapMiB), FromRSSMiB: round2(a.PeakRSSMiB), ToRSSMiB: round2(z.PeakRSSMiB),
		HeapKiBPerSet: round2((z.PeakHeapMiB - a.PeakHeapMiB) * 1024 / sets), RSSKiBPerSet: round2((z.PeakRSSMiB - a.PeakRSSMiB) * 1024 / sets)}
}

// scaleSection is the scale run, its burst apply latency and the memory per set.
func scaleSection(p func(string, ...any), res *Results) {
	sc := res.Scale
	if sc == nil {
		return
	}
	p("### Scale\n\n")
	op := sc.Operator
	floor := "–"
	floorIntent := "–"
	if sc.Floor != nil {
		floor = fmt.Sprintf("%.1f s", sc.Floor.WallSeconds)
		if l := sc.Floor.IntentLatency; l != nil {
			floorIntent = fmt.Sprintf("%.2f / %.2f s", l.P50ms/1000, l.P99ms/1000)
		}
	}
	p("| sets / instances / projects | wall time to all Ready | Kubernetes floor | applying | time to ready p50 / p99 | burst apply → first create p50 / p99 | floor: apply → intent written p50 / p99 | Talis calls (per set) | set reconciles | manager peak RSS | peak heap in use | manager CPU | kube-apiserver / etcd CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %d / %d / %d | **%.1f s** | %s | %.1f s | %.2f / %.2f s | **%.2f** / %.2f s | %s | %d (%.2f) | %.0f | **%.0f MiB** | %.0f MiB | %.1f s | %.1f / %.1f s |\n\n",
		sc.N, op.InstancesCreated, sc.Projects, op.WallSeconds, floor, op.ApplySeconds, op.TTRP50, op.TTRP99,
		sc.ApplyLatency.P50ms/1000, sc.ApplyLatency.P99ms/1000, floorIntent, op.Calls, op.CallsPerSet,
		op.Reconciles["talisinstanceset"], op.Manager.PeakRSSMiB, op.Manager.PeakHeapMiB, op.Manager.CPUSeconds,
		op.ControlPlaneCPUSeconds["kube-apiserver"], op.ControlPlaneCPUSeconds["etcd"])
	if g := res.MemoryGrowth; g != nil {
		p("| manager memory | N=%d | N=%d | growth per set (%d sets) |\n|---|---:|---:|---:|\n", g.FromSets, g.ToSets, g.ToSets-g.FromSets)
		p("| peak heap in use | %.1f MiB | %.1f MiB | **%.1f KiB** |\n", g.FromHeapMiB, g.ToHeapMiB, g.HeapKiBPerSet)
		p("| peak RSS | %.1f MiB | %.1f MiB | **%.1f KiB** |\n\n", g.FromRSSMiB, g.ToRSSMiB, g.RSSKiBPerSet)
		p("Growth per set: (peak at N=%d − peak at N=%d) / %d sets. Peak heap in use is scraped every %s, peak RSS sampled every 100 ms; both are peaks during the burst, not the steady footprint.\n\n",
			g.ToSets, g.FromSets, g.ToSets-g.FromSets, scrapeInterval(res))
	}
	memoryLimitedSection(p, sc, res.ScaleMemoryLimited)
}

// memoryLimitedSection sets the scale run beside the same run under a soft memory limit: what
// the limit saves in RSS and what it costs in CPU and time.
func memoryLimitedSection(p func(string, ...any), sc *Convergence, ml *MemoryLimitedRun) {
	if ml == nil {
		return
	}
	a, z := sc.Operator, ml.Convergence.Operator
	p("| N=%d, the same operator | default (no GOMEMLIMIT) | GOMEMLIMIT=%s |\n|---|---:|---:|\n", sc.N, ml.GoMemLimit)
	p("| wall time to all Ready | %.1f s | %.1f s |\n", a.WallSeconds, z.WallSeconds)
	p("| manager CPU | %.1f s | %.1f s |\n", a.Manager.CPUSeconds, z.Manager.CPUSeconds)
	p("| manager peak RSS | %.0f MiB | **%.0f MiB** |\n", a.Manager.PeakRSSMiB, z.Manager.PeakRSSMiB)
	p("| peak heap in use | %.0f MiB | %.0f MiB |\n", a.Manager.PeakHeapMiB, z.Manager.PeakHeapMiB)
	p("| kube-apiserver CPU | %.1f s | %.1f s |\n\n", a.ControlPlaneCPUSeconds["kube-apiserver"], z.ControlPlaneCPUSeconds["kube-apiserver"])
	p("The second run starts a fresh manager and emulator after the first (no floor or baseline before it); GOMEMLIMIT is the Go runtime's soft limit on the memory it manages, which the chart and config/manager set from the container's memory limit. The binary's mapped text (~27 MiB) is outside it.\n\n")
}

func scaleTargets(res *Results) []target {
	sc := res.Scale
	if sc == nil {
		return nil
	}
	l := sc.ApplyLatency
	burst := fmt.Sprintf("p50 %.2f s, p99 %.2f s over %d sets", l.P50ms/1000, l.P99ms/1000, l.Sets)
	if sc.Floor != nil && sc.Floor.IntentLatency != nil {
		burst += fmt.Sprintf("; the Kubernetes floor's intent written: p50 %.2f s", sc.Floor.IntentLatency.P50ms/1000)
	}
	out := []target{
		{fmt.Sprintf("manager peak RSS at %d sets ≤ 100 MiB", sc.N), fmt.Sprintf("%.0f MiB peak", sc.Operator.Manager.PeakRSSMiB),
			sc.Operator.Manager.PeakRSSMiB <= 100},
		{fmt.Sprintf("burst of %d sets: p50 apply → first create < 10 s", sc.N),
			burst, l.Sets > 0 && l.P50ms < 10000},
	}
	if ml := res.ScaleMemoryLimited; ml != nil {
		m := ml.Convergence.Operator.Manager
		out = slices.Insert(out, 1, target{fmt.Sprintf("the same, with GOMEMLIMIT=%s", ml.GoMemLimit),
			fmt.Sprintf("%.0f MiB peak, manager CPU %.1f s (%.1f s without)", m.PeakRSSMiB, m.CPUSeconds, sc.Operator.Manager.CPUSeconds),
			m.PeakRSSMiB <= 100})
	}
	return out
}

// floorTargets are the operator's own cost: its runs against the Kubernetes floor of the same
// size (wall time, and kube-apiserver CPU at N=1,000), against the direct baseline on a capped
// Talis, and with other people's instances in Talis against without.
func floorTargets(res *Results) []target {
	var out []target
	all := append([]Convergence(nil), res.Convergence...)
	if res.Scale != nil {
		all = append(all, *res.Scale)
	}
	for _, cv := range all {
		fl := cv.Floor
		if fl == nil || fl.WallSeconds <= 0 || cv.N < 1000 { // issue 24 sets no floor target below 1,000 sets
			continue
		}
		limit := 1.15
		if cv.N >= 5000 {
			limit = 1.10
		}
		ratio := cv.Operator.WallSeconds / fl.WallSeconds
		out = append(out, target{fmt.Sprintf("N=%d: wall time within %.2f× the Kubernetes floor", cv.N, limit),
			fmt.Sprintf("%.2f× (%.1f s vs %.1f s)", ratio, cv.Operator.WallSeconds, fl.WallSeconds), ratio <= limit})
		if cv.N == 1000 {
			op, f := cv.Operator.ControlPlaneCPUSeconds["kube-apiserver"], fl.ControlPlaneCPUSeconds["kube-apiserver"]
			if f > 0 {
				out = append(out, target{"N=1000: kube-apiserver CPU within 1.10× the Kubernetes floor's",
					fmt.Sprintf("%.2f× (%.1f s vs %.1f s)", op/f, op, f), op/f <= 1.10})
			}
		}
	}
	for _, cv := range res.Capped {
		if cv.Ratio != nil {
			out = append(out, target{fmt.Sprintf("capped Talis (N=%d): wall time ≤ 1.00× the direct baseline's", cv.N),
				fmt.Sprintf("%.2f×", cv.Ratio.Wall), cv.Ratio.Wall <= 1.00})
		}
	}
	if f := res.Foreign; f != nil && len(f.Runs) > 1 && f.Runs[0].Convergence.Operator.WallSeconds > 0 {
		base := f.Runs[0].Convergence.Operator.WallSeconds
		for _, r := range f.Runs[1:] {
			ratio := r.Convergence.Operator.WallSeconds / base
			out = append(out, target{fmt.Sprintf("%d foreign instances: N=%d time to all Ready within 1.2× of none", r.ForeignInstances, f.Sets),
				fmt.Sprintf("%.2f× (%.1f s vs %.1f s)", ratio, r.Convergence.Operator.WallSeconds, base), ratio <= 1.2})
			if none, with := listBytesPerHourAtDefaults(f.Runs[0].Steady), listBytesPerHourAtDefaults(r.Steady); none > 0 && with > 0 {
				out = append(out, target{fmt.Sprintf("%d foreign instances: steady instance-list bytes per hour per endpoint do not grow with them (within 1.2× of none)", r.ForeignInstances),
					fmt.Sprintf("%.2f× (%s vs %s)", with/none, bytesOf(with), bytesOf(none)), with/none <= 1.2})
			}
		}
	}
	return out
}

// scrapeInterval is the run's /metrics scrape interval; results from before it was recorded
// were scraped every second.
func scrapeInterval(res *Results) string {
	if res.Settings.ScrapeInterval == "" {
		return "1s"
	}
	return res.Settings.ScrapeInterval
}
