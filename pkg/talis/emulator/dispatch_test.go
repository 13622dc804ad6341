/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"testing"
	"time"
)

func TestDispatchWindowCapsEverySecond(t *testing.T) {
	w := newDispatchWindow(10)
	var got []int64
	for i := 0; i < 35; i++ {
		got = append(got, w.reserve(int64(i)*int64(time.Millisecond))) // all due within 35 ms
	}
	for i := range got {
		if i > 0 && got[i] < got[i-1] {
			t.Fatalf("pickup %d before %d: %v", i, i-1, got)
		}
		if i >= 10 && got[i]-got[i-10] < int64(time.Second) {
			t.Fatalf("11 pickups within one second at %d: %v", i, got)
		}
	}
	if last := time.Duration(got[34] - got[0]); last < 3*time.Second || last > 3*time.Second+35*time.Millisecond {
		t.Fatalf("35 tasks at 10/s span %v, want ~3s", last)
	}
	if free := newDispatchWindow(-1); free.reserve(5) != 5 {
		t.Fatal("no cap must not delay")
	}
}

// The worker starts at most 10 creates per second: the 11th..25th
// instances become ready at least 1 s / 2 s after they were created.
func TestDispatchCapDelaysBursts(t *testing.T) {
	_, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "b", 25, ""))
	for k, in := range ins {
		got := waitStatus(t, base, in.ID, "ready")
		if wait := got.UpdatedAt.Sub(got.CreatedAtReal); wait < time.Duration(k/10)*time.Second {
			t.Fatalf("instance %d ready %v after creation, want ≥ %ds", k+1, wait, k/10)
		}
	}
}
