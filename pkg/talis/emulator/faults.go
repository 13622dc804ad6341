/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RouteFault is the per-route fault plan. Rates are probabilities in [0,1].
type RouteFault struct {
	// ErrorRate answers 500 in the shape this route uses for server errors.
	ErrorRate float64
	// GatewayErrorRate answers GatewayStatus from the "gateway" (Kong body).
	GatewayErrorRate float64
	// GatewayStatus is 502 (default), 503 or 504.
	GatewayStatus int
	// Latency (+ uniform random Jitter) is added before handling.
	Latency time.Duration
	Jitter  time.Duration
	// TimeoutRate hangs for Hang without doing anything, then drops the
	// connection (no response).
	TimeoutRate float64
	// CommitThenDropRate runs the handler (state is committed), then hangs
	// for Hang and drops the connection: an ambiguous outcome.
	CommitThenDropRate float64
	// Hang is the hang duration of the two faults above.
	Hang time.Duration
}

// Faults is the complete fault plan; replace it with SetFaults.
type Faults struct {
	// Routes is keyed by route name ("POST /api/v1/instances",
	// "RPC project.create"), "RPC *" (every RPC call) or "*" (everything).
	// The most specific key wins; entries are not merged.
	Routes map[string]RouteFault

	// Next429 makes the next N requests fail with 429 (a burst).
	Next429 int
	// RateLimit enables a token bucket of RateLimit req/s with RateBurst
	// capacity (default 1); excess requests get 429.
	RateLimit float64
	RateBurst int
	// RetryAfter is sent with burst 429s (rounded up to seconds, min 1s).
	RetryAfter time.Duration

	// Worker faults, rolled per task.
	CreateFailRate    float64 // provider create fails: instance stays pending
	ProvisionFailRate float64 // provisioning fails: instance stays provisioning
	TerminateFailRate float64 // terminate fails: instance unchanged
	// NeverReadyRate freezes an instance forever at NeverReadyStage
	// ("pending" default, "created" or "provisioning"; provisioning applies
	// to provision=true instances, others freeze at created). The create
	// task stays running.
	NeverReadyRate  float64
	NeverReadyStage string
}

func (f *Faults) clone() Faults {
	c := *f
	if f.Routes != nil {
		c.Routes = make(map[string]RouteFault, len(f.Routes))
		for k, v := range f.Routes {
			c.Routes[k] = v
		}
	}
	return c
}

// route picks the fault plan of a route name.
func (f *Faults) route(name string, rpc bool) (RouteFault, bool) {
	if f.Routes == nil {
		return RouteFault{}, false
	}
	if rf, ok := f.Routes[name]; ok {
		return rf, true
	}
	if rpc {
		if rf, ok := f.Routes["RPC *"]; ok {
			return rf, true
		}
	}
	rf, ok := f.Routes["*"]
	return rf, ok
}

func (f *Faults) neverReadyStage() uint8 {
	switch f.NeverReadyStage {
	case "created":
		return stCreated
	case "provisioning":
		return stProvisioning
	default:
		return stPending
	}
}

// lockedRand is the single seedable source of fault randomness.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// hit reports whether an event of probability p happens.
func (l *lockedRand) hit(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64() < p
}

func (l *lockedRand) duration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.r.Int64N(int64(max)))
}

// gatewayLimiter is the Kong rate-limiting stand-in: a token bucket
// (golang.org/x/time/rate) of rate req/s holding up to burst tokens, full
// when (re)configured. A rate <= 0 lets everything through.
type gatewayLimiter struct {
	mu    sync.Mutex
	rate  float64
	burst int
	lim   *rate.Limiter
}

// configure starts a full bucket when the rate or burst (min 1) changes;
// the same settings keep the current bucket.
func (g *gatewayLimiter) configure(r float64, burst int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if burst < 1 {
		burst = 1
	}
	if g.lim == nil || g.rate != r || g.burst != burst {
		limit := rate.Limit(r)
		if r <= 0 {
			limit = rate.Inf
		}
		g.rate, g.burst, g.lim = r, burst, rate.NewLimiter(limit, burst)
	}
}

// take consumes a token; when none is left it consumes nothing and
// returns the wait until one is.
func (g *gatewayLimiter) take() (bool, time.Duration) {
	g.mu.Lock()
	lim := g.lim
	g.mu.Unlock()
	if lim == nil {
		return true, 0
	}
	now := time.Now()
	if lim.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - lim.TokensAt(now)) / float64(lim.Limit()) * float64(time.Second))
}

// retryAfterSeconds rounds up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
