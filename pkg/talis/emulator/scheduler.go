/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"sync"
	"time"
)

// event wakes one task at a deadline. Stale events (gen mismatch) are
// ignored, so nothing ever has to be removed from the heap.
type event struct {
	at   int64 // unix nanoseconds
	task uint64
	gen  uint32
}

// scheduler is a single goroutine driving a min-heap of events: no
// goroutine or timer per instance, so 100k instances cost ~24 B each here.
type scheduler struct {
	mu      sync.Mutex
	h       []event
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	running bool
	fire    func([]event)
}

func newScheduler(fire func([]event)) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), fire: fire}
}

func (sc *scheduler) push(e event) {
	sc.mu.Lock()
	sc.h = append(sc.h, e)
	i := len(sc.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if sc.h[p].at <= sc.h[i].at {
			break
		}
		sc.h[p], sc.h[i] = sc.h[i], sc.h[p]
		i = p
	}
	first := i == 0
	sc.mu.Unlock()
	if first {
		select {
		case sc.wake <- struct{}{}:
		default:
		}
	}
}

func (sc *scheduler) pop() event {
	h := sc.h
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].at < h[m].at {
			m = l
		}
		if r < n && h[r].at < h[m].at {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	sc.h = h
	return top
}

// clear drops every queued event (used while the server is "down").
func (sc *scheduler) clear() {
	sc.mu.Lock()
	sc.h = nil
	sc.mu.Unlock()
}

func (sc *scheduler) pending() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.h)
}

func (sc *scheduler) start() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.running {
		return
	}
	sc.running = true
	sc.stop = make(chan struct{})
	sc.done = make(chan struct{})
	go sc.loop(sc.stop, sc.done)
}

// halt stops the loop and waits for an in-flight batch to finish.
func (sc *scheduler) halt() {
	sc.mu.Lock()
	if !sc.running {
		sc.mu.Unlock()
		return
	}
	sc.running = false
	stop, done := sc.stop, sc.done
	sc.mu.Unlock()
	close(stop)
	<-done
}

const schedBatch = 4096

func (sc *scheduler) loop(stop, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	batch := make([]event, 0, schedBatch)
	for {
		sc.mu.Lock()
		now := time.Now().UnixNano()
		batch = batch[:0]
		for len(sc.h) > 0 && sc.h[0].at <= now && len(batch) < schedBatch {
			batch = append(batch, sc.pop())
		}
		wait := time.Duration(-1)
		if len(batch) == 0 && len(sc.h) > 0 {
			wait = time.Duration(sc.h[0].at - now)
		}
		sc.mu.Unlock()

		if len(batch) > 0 {
			sc.fire(batch)
			select {
			case <-stop:
				return
			default:
			}
			continue
		}
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-sc.wake:
		case <-timer.C:
		}
	}
}
