package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// controlPlaneCPU is the CPU time used so far by etcd and kube-apiserver.
func controlPlaneCPU() map[string]float64 {
	out := map[string]float64{}
	for comm, pid := range childPIDs() {
		if comm == "etcd" || comm == "kube-apiserver" {
			out[comm] = cpuSeconds(pid)
		}
	}
	return out
}

func subtract(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range a {
		out[k] = round2(v - b[k])
	}
	return out
}

func diffRequests(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range a {
		if d := v - b[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// pct is the p-th percentile (nearest rank) of xs; p=100 is the maximum.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return round3(s[i])
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// apiserverProfile saves a CPU profile of kube-apiserver (its /debug/pprof is on by default).
func (b *bench) apiserverProfile(ctx context.Context, dir, name string, seconds int) {
	raw, err := b.kube.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", fmt.Sprint(seconds)).Timeout(time.Duration(seconds+30) * time.Second).DoRaw(ctx)
	if err != nil {
		logf("apiserver pprof: %v", err)
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name+"-apiserver-profile.pprof")
	if err := os.WriteFile(path, raw, 0o644); err == nil {
		logf("saved %s", path)
	}
}
