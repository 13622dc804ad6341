/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Delays of the worker phases; the zero value means DefaultDelays.
	Delays Delays
	// TasksPerSecond caps how many tasks of one priority (creates,
	// terminates) the worker starts per second; 0 means upstream's 10,
	// negative means no cap.
	TasksPerSecond int
	// DisableRaceQuirk stops a finishing create from overwriting a
	// concurrent termination (upstream quirk, section 5.2, on by default).
	DisableRaceQuirk bool
	// StableListOrder lists instances (GET /api/v1/instances and its
	// variants, project.listInstances) and task.list in id order whatever
	// changed. Off by default because upstream's order is not stable: it
	// pages with LIMIT/OFFSET and no ORDER BY, so paging while rows change
	// can skip or repeat a row (see scanorder.go), and clients must cope.
	StableListOrder bool
	// DuplicateProjectStyle selects the DB error of unique violations:
	// "postgres" (default, production) or "sqlite".
	DuplicateProjectStyle string
	// PathPrefix additionally serves the API under this prefix (e.g.
	// "/talis", like the Kong gateway).
	PathPrefix string
	// APIKeys enables Kong-style key-auth (header or query "apikey").
	APIKeys []string
	// Faults is the initial fault plan.
	Faults Faults
	// Seed seeds fault randomness; 0 picks a random seed.
	Seed uint64
	// RestartDowntime is how long Restart keeps the listener away
	// (default 500ms).
	RestartDowntime time.Duration
	// BodyLimit is the request body limit (default 4 MiB, Fiber's).
	BodyLimit int64
	// MaxInstancesPerRequest guards memory (default 1,000,000).
	MaxInstancesPerRequest int
	// LookupEnv backs the Ximera TALIS_SSH_KEY_NAME check (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// LockDuration is how long a worker's lock on a task lasts: a task's lock_expiry is its
	// locked_at plus this (default 5 minutes, upstream's). Upstream hands a running task whose
	// lock has expired to another worker; the emulator does not (a task frozen by NeverReady
	// stays running with its lock expired).
	LockDuration time.Duration
}

// Server is a Talis API emulator. Create it with New.
type Server struct {
	cfg    Config
	st     *store
	delays Delays // guarded by st.mu
	// dispatch holds one window per priority (create, terminate); guarded by st.mu.
	pickupWindows [2]*dispatchWindow
	sched         *scheduler
	rng           *lockedRand
	// delayRand draws phase durations apart from rng, so a spread does not
	// shift which requests a seeded fault plan hits.
	delayRand *lockedRand
	faults    atomic.Pointer[Faults]
	next429   atomic.Int64
	limiter   gatewayLimiter
	apiKeys   atomic.Pointer[map[string]bool]
	stats     *statsCollector
	down      atomic.Bool

	life      sync.Mutex // Start/Restart/Close
	closeOnce sync.Once
	httpSrv   *http.Server
	addr      string
	closed    bool
	quit      chan struct{}
}

// New creates a Server with its worker running; serve it with Start or
// mount Handler yourself.
func New(cfg Config) *Server {
	if cfg.Delays == (Delays{}) {
		cfg.Delays = DefaultDelays
	}
	if cfg.TasksPerSecond == 0 {
		cfg.TasksPerSecond = UpstreamTasksPerSecond
	}
	if cfg.DuplicateProjectStyle == "" {
		cfg.DuplicateProjectStyle = "postgres"
	}
	if cfg.RestartDowntime <= 0 {
		cfg.RestartDowntime = 500 * time.Millisecond
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 4 << 20
	}
	if cfg.MaxInstancesPerRequest <= 0 {
		cfg.MaxInstancesPerRequest = 1_000_000
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.LockDuration <= 0 {
		cfg.LockDuration = defaultLockDuration
	}
	if p := strings.Trim(cfg.PathPrefix, "/"); p != "" {
		cfg.PathPrefix = "/" + p
	} else {
		cfg.PathPrefix = ""
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	s := &Server{
		cfg:       cfg,
		st:        newStore(),
		delays:    cfg.Delays,
		rng:       newLockedRand(cfg.Seed),
		delayRand: newLockedRand(cfg.Seed ^ 0x5bd1e995),
		stats:     newStats(),
		quit:      make(chan struct{}),
	}
	s.st.scan = newScanOrder(cfg.StableListOrder, cfg.Seed)
	s.st.taskScan = newScanOrder(cfg.StableListOrder, cfg.Seed+1)
	s.sched = newScheduler(s.fire)
	s.resetDispatch()
	s.SetFaults(cfg.Faults)
	s.SetAPIKeys(cfg.APIKeys...)
	s.sched.start()
	return s
}

// Handler returns the HTTP handler (API, gateway emulation, /emulator/*).
func (s *Server) Handler() http.Handler { return s }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the base URL.
func (s *Server) Start(addr string) (string, error) {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return "", errors.New("emulator: closed")
	}
	if s.httpSrv != nil {
		return "", errors.New("emulator: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s.url(), nil
}

// URL is the base URL of a started server ("" before Start).
func (s *Server) URL() string {
	s.life.Lock()
	defer s.life.Unlock()
	return s.url()
}

func (s *Server) url() string {
	if s.addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return "http://" + s.addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.httpSrv = srv
	go func() { _ = srv.Serve(ln) }()
}

// Close stops the listener and the worker. State is discarded with s.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.quit) }) // interrupts a restart's downtime
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.sched.halt()
	if s.httpSrv != nil {
		return s.httpSrv.Close()
	}
	return nil
}

// Restart emulates a server restart that keeps the database: the listener
// goes away (connection refused) for Config.RestartDowntime, the worker
// stops, then everything comes back on the same address and tasks left
// running are reset to pending with attempts+1. It blocks until back up.
func (s *Server) Restart() error { return s.RestartFor(s.cfg.RestartDowntime) }

// RestartFor is Restart with an explicit downtime.
func (s *Server) RestartFor(downtime time.Duration) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return errors.New("emulator: closed")
	}
	s.down.Store(true) // Handler-only mode: drop connections meanwhile
	s.sched.halt()
	s.sched.clear()
	listening := s.httpSrv != nil
	if listening {
		_ = s.httpSrv.Close()
		s.httpSrv = nil
	}
	select {
	case <-time.After(downtime):
	case <-s.quit:
		return errors.New("emulator: closed")
	}
	s.st.mu.Lock()
	s.recoverTasks()
	s.st.mu.Unlock()
	s.sched.start()
	s.stats.add(&s.stats.restarts, 1)
	defer s.down.Store(false)
	if !listening {
		return nil
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.serve(ln)
	return nil
}

// Seed returns the fault RNG seed in use (log it to reproduce a run).
func (s *Server) Seed() uint64 { return s.cfg.Seed }

// SetDelays changes worker delays for phases scheduled from now on.
func (s *Server) SetDelays(d Delays) {
	s.st.mu.Lock()
	s.delays = d
	s.st.mu.Unlock()
}

// Delays returns the current worker delays.
func (s *Server) Delays() Delays {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.delays
}

// SetFaults replaces the fault plan (Next429 restarts the burst counter).
func (s *Server) SetFaults(f Faults) {
	c := f.clone()
	s.next429.Store(int64(c.Next429))
	s.limiter.configure(c.RateLimit, c.RateBurst)
	s.faults.Store(&c)
}

// Faults returns the current plan; Next429 is the remaining burst.
func (s *Server) Faults() Faults {
	c := s.faults.Load().clone()
	c.Next429 = int(s.next429.Load())
	return c
}

// SetAPIKeys enables key-auth with these keys; no keys disables it.
func (s *Server) SetAPIKeys(keys ...string) {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k != "" {
			m[k] = true
		}
	}
	s.apiKeys.Store(&m)
}

// APIKeys returns the configured keys.
func (s *Server) APIKeys() []string {
	m := *s.apiKeys.Load()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
