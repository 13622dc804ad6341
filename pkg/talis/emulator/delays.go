/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import "time"

// Delays are the worker's phase durations.
type Delays struct {
	Pickup    time.Duration // task created → picked (running)
	Create    time.Duration // picked → instance created (IP assigned)
	Ready     time.Duration // created → ready (or → provisioning)
	Provision time.Duration // provisioning → ready
	Terminate time.Duration // terminate picked → terminated
	// Spread randomises every phase (seeded by Config.Seed): each one
	// lasts a uniform draw in [d·(1−Spread), d·(1+Spread)]; 0 keeps the
	// durations exact, values above 1 count as 1.
	Spread float64
}

// DefaultDelays reach ready in ~0.5 s (0.8 s with provisioning). The
// terminate is slower than a create and every phase varies by ±50 %, so
// terminating right after creating loses to the create worker about one
// time in five (it writes "ready" over "terminated"), as measured
// upstream: 5 instances terminated right after their create left 1 ready
// and 4 terminated, in both runs (the emulator: ~1 in 5 over 30).
var DefaultDelays = Delays{
	Pickup:    100 * time.Millisecond,
	Create:    300 * time.Millisecond,
	Ready:     100 * time.Millisecond,
	Provision: 300 * time.Millisecond,
	Terminate: 600 * time.Millisecond,
	Spread:    0.5,
}

// phase returns one randomised duration of a phase whose nominal length
// is d; caller holds st.mu (s.delays).
func (s *Server) phase(d time.Duration) time.Duration {
	sp := min(s.delays.Spread, 1)
	if sp <= 0 || d <= 0 {
		return d
	}
	lo := time.Duration(float64(d) * (1 - sp))
	return lo + s.delayRand.duration(time.Duration(float64(d)*2*sp))
}
