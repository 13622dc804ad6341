/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// TestHundredThousandInstances creates 100k instances in four calls, lets
// the single scheduler drive them all to ready and lists them. Timing and
// memory are logged, not asserted.
func TestHundredThousandInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const total, calls = 100_000, 4
	// No dispatch cap: at upstream's 10 tasks/s this would take hours.
	s, base := start(t, Config{TasksPerSecond: -1, Delays: Delays{Pickup: 50 * time.Millisecond, Create: 50 * time.Millisecond, Ready: 50 * time.Millisecond, Provision: 50 * time.Millisecond, Terminate: 50 * time.Millisecond}})
	mkProject(t, base, admin, "big")
	before := heapMB()
	t0 := time.Now()
	for i := 0; i < calls; i++ {
		r := do(t, "POST", base+"/api/v1/instances", "["+instReq(admin, "big", "n"+itoa(uint(i)), total/calls, `"tags":["scale"]`)+"]")
		if r.status != 201 {
			t.Fatalf("%d %.200s", r.status, r.body)
		}
	}
	created := time.Since(t0)
	afterCreate := heapMB()

	t1 := time.Now()
	deadline := time.Now().Add(40 * time.Second)
	for s.Stats().InstancesByStatus["ready"] != total {
		if time.Now().After(deadline) {
			t.Fatalf("not all ready: %v", s.Stats().InstancesByStatus)
		}
		time.Sleep(50 * time.Millisecond)
	}
	settled := time.Since(t1)

	t2 := time.Now()
	r := do(t, "GET", base+"/api/v1/instances?limit=0", "")
	listed := time.Since(t2)
	if r.status != 200 || strings.Count(r.body, `"provider_id"`) != total ||
		!strings.HasSuffix(r.body, `"pagination":{"total":100000,"page":1,"limit":0,"offset":0}}`) {
		t.Fatalf("list: %d, %d rows", r.status, strings.Count(r.body, `"provider_id"`))
	}
	ips := map[string]bool{}
	for _, e := range s.Ledger() {
		if e.PublicIP == "" || ips[e.PublicIP] {
			t.Fatalf("ip %q missing or reused", e.PublicIP)
		}
		ips[e.PublicIP] = true
	}
	t.Logf("create %v, all ready after %v more, list %v (%.1f MB body); heap %.1f MB → %.1f MB after create (%.0f B/instance incl. tasks), %.1f MB now",
		created, settled, listed, float64(len(r.body))/(1<<20), before, afterCreate,
		(afterCreate-before)*(1<<20)/total, heapMB())
}
