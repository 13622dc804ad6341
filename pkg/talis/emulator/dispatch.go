/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import "time"

// UpstreamTasksPerSecond is upstream's dispatch cap: each priority's
// dispatcher fetches at most 10 tasks per one-second poll, whatever the
// worker count, so 200 instances take ~20 s to become ready.
const UpstreamTasksPerSecond = 10

// dispatchWindow hands out pickup times so that no more than cap tasks of
// one priority start in any one-second window, in creation order. A slot
// is reserved when the task is queued, which keeps this O(1) per task even
// for 100k queued tasks.
type dispatchWindow struct {
	cap   int
	times []int64 // ring of the last cap pickup times
	next  int
	last  int64
}

func newDispatchWindow(cap int) *dispatchWindow {
	if cap <= 0 {
		return &dispatchWindow{}
	}
	return &dispatchWindow{cap: cap, times: make([]int64, 0, cap)}
}

// reserve returns the pickup time of a task that is due at `at`.
func (w *dispatchWindow) reserve(at int64) int64 {
	if w.cap <= 0 {
		return at
	}
	at = max(at, w.last) // first come, first served, like ORDER BY id
	if len(w.times) < w.cap {
		w.times = append(w.times, at)
	} else {
		at = max(at, w.times[w.next]+int64(time.Second))
		w.times[w.next] = at
		w.next = (w.next + 1) % w.cap
	}
	w.last = at
	return at
}
