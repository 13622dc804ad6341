/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"fmt"
	"testing"
	"time"
)

// Upstream, terminating 5 instances right after creating them left 1
// ready and 4 terminated (twice): a terminate that lands while the create
// task runs is overwritten. The default lifecycle must lose about as often.
func TestDefaultDelaysLoseTerminateRaceLikeUpstream(t *testing.T) {
	srv, base := start(t, Config{Seed: 7})
	mkProject(t, base, admin, "p1")
	const rounds, perRound = 6, 5
	back := 0
	for r := 0; r < rounds; r++ {
		ins := create(t, base, instReq(admin, "p1", fmt.Sprintf("r%d", r), perRound, ""))
		ids := ""
		for i, in := range ins {
			if i > 0 {
				ids += ","
			}
			ids += itoa(in.ID)
		}
		do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[`+ids+`]}`)
		for _, in := range ins {
			waitTask(t, base, in.ID, "terminate_instances", "completed")
			waitTask(t, base, in.ID, "create_instances", "completed")
			switch got := getInst(t, base, in.ID).Status; got {
			case "ready":
				back++
			case "terminated":
			default:
				t.Fatalf("instance %d: %s after both tasks completed", in.ID, got)
			}
		}
	}
	for _, e := range srv.Ledger() {
		if (e.Status == "terminated") != (e.TerminatedAt != nil) {
			t.Errorf("ledger: instance %d is %s with terminated_at %v", e.ID, e.Status, e.TerminatedAt)
		}
	}
	t.Logf("%d of %d came back ready", back, rounds*perRound)
	// Upstream: 2 of 10. Bounds are wide: the draws are seeded but the
	// interleaving follows the wall clock.
	if n := rounds * perRound; back < 2 || back > n/2 {
		t.Fatalf("%d of %d instances came back ready, want about one in five", back, n)
	}
}

func TestSpreadIsSeededAndBounded(t *testing.T) {
	draws := func(seed uint64, d Delays) []time.Duration {
		s := New(Config{Seed: seed, Delays: d})
		defer s.Close()
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		out := make([]time.Duration, 50)
		for i := range out {
			out[i] = s.phase(100 * time.Millisecond)
		}
		return out
	}
	a, b := draws(3, Delays{Pickup: time.Hour, Spread: 0.5}), draws(3, Delays{Pickup: time.Hour, Spread: 0.5})
	varied := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d: %v vs %v with the same seed", i, a[i], b[i])
		}
		if a[i] < 50*time.Millisecond || a[i] >= 150*time.Millisecond {
			t.Fatalf("draw %v outside 100ms ± 50%%", a[i])
		}
		varied = varied || a[i] != a[0]
	}
	if !varied {
		t.Fatal("spread 0.5 drew one value only")
	}
	for _, d := range draws(3, Delays{Pickup: time.Hour}) {
		if d != 100*time.Millisecond {
			t.Fatalf("spread 0 drew %v", d)
		}
	}
}
