package main

import "fmt"

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
	if sc.Floor != nil {
		floor = fmt.Sprintf("%.1f s", sc.Floor.WallSeconds)
	}
	p("| sets / instances / projects | wall time to all Ready | Kubernetes floor | applying | time to ready p50 / p99 | burst apply → first create p50 / p99 | Talis calls (per set) | set reconciles | manager peak RSS | peak heap in use | manager CPU | kube-apiserver / etcd CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %d / %d / %d | **%.1f s** | %s | %.1f s | %.2f / %.2f s | **%.2f** / %.2f s | %d (%.2f) | %.0f | **%.0f MiB** | %.0f MiB | %.1f s | %.1f / %.1f s |\n\n",
		sc.N, op.InstancesCreated, sc.Projects, op.WallSeconds, floor, op.ApplySeconds, op.TTRP50, op.TTRP99,
		sc.ApplyLatency.P50ms/1000, sc.ApplyLatency.P99ms/1000, op.Calls, op.CallsPerSet,
		op.Reconciles["talisinstanceset"], op.Manager.PeakRSSMiB, op.Manager.PeakHeapMiB, op.Manager.CPUSeconds,
		op.ControlPlaneCPUSeconds["kube-apiserver"], op.ControlPlaneCPUSeconds["etcd"])
	if g := res.MemoryGrowth; g != nil {
		p("| manager memory | N=%d | N=%d | growth per set (%d sets) |\n|---|---:|---:|---:|\n", g.FromSets, g.ToSets, g.ToSets-g.FromSets)
		p("| peak heap in use | %.1f MiB | %.1f MiB | **%.1f KiB** |\n", g.FromHeapMiB, g.ToHeapMiB, g.HeapKiBPerSet)
		p("| peak RSS | %.1f MiB | %.1f MiB | **%.1f KiB** |\n\n", g.FromRSSMiB, g.ToRSSMiB, g.RSSKiBPerSet)
		p("Growth per set: (peak at N=%d − peak at N=%d) / %d sets. Peak heap in use is scraped every second, peak RSS sampled every 100 ms; both are peaks during the burst, not the steady footprint.\n\n",
			g.ToSets, g.FromSets, g.ToSets-g.FromSets)
	}
}

func scaleTargets(res *Results) []target {
	sc := res.Scale
	if sc == nil {
		return nil
	}
	l := sc.ApplyLatency
	return []target{
		{fmt.Sprintf("manager RSS at %d sets < 150 MiB", sc.N), fmt.Sprintf("%.0f MiB peak", sc.Operator.Manager.PeakRSSMiB),
			sc.Operator.Manager.PeakRSSMiB < 150},
		{fmt.Sprintf("burst of %d sets: p50 apply → first create < 10 s", sc.N),
			fmt.Sprintf("p50 %.2f s, p99 %.2f s over %d sets", l.P50ms/1000, l.P99ms/1000, l.Sets), l.Sets > 0 && l.P50ms < 10000},
	}
}
