/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Stats is a snapshot of the emulator's counters.
type Stats struct {
	// Requests counts requests per route name, e.g.
	// "GET /api/v1/instances/:id", "RPC project.create", "GET (unmatched)".
	Requests map[string]int64 `json:"requests"`
	// Methods counts requests per HTTP method.
	Methods map[string]int64 `json:"methods"`
	// Statuses counts responses per status code ("dropped" = no response).
	Statuses map[string]int64 `json:"statuses"`
	// RouteStatuses breaks Statuses down per route name.
	RouteStatuses map[string]map[string]int64 `json:"route_statuses"`
	// Faults counts injected faults per kind.
	Faults map[string]int64 `json:"faults"`

	InstancesCreated    int64 `json:"instances_created"`
	InstancesTerminated int64 `json:"instances_terminated"`
	TasksCompleted      int64 `json:"tasks_completed"`
	TasksFailed         int64 `json:"tasks_failed"`
	Restarts            int64 `json:"restarts"`
	// InstancesByStatus is a gauge over all rows (not reset).
	InstancesByStatus map[string]int64 `json:"instances_by_status"`
}

type statsCollector struct {
	mu            sync.Mutex
	requests      map[string]int64
	methods       map[string]int64
	statuses      map[string]int64
	routeStatuses map[string]map[string]int64
	faults        map[string]int64
	created       int64
	terminated    int64
	completed     int64
	failed        int64
	restarts      int64
}

func newStats() *statsCollector {
	c := &statsCollector{}
	c.reset()
	return c
}

func (c *statsCollector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = map[string]int64{}
	c.methods = map[string]int64{}
	c.statuses = map[string]int64{}
	c.routeStatuses = map[string]map[string]int64{}
	c.faults = map[string]int64{}
	c.created, c.terminated, c.completed, c.failed, c.restarts = 0, 0, 0, 0, 0
}

func (c *statsCollector) record(route, method string, status int) {
	code := "dropped"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests[route]++
	c.methods[method]++
	c.statuses[code]++
	rs := c.routeStatuses[route]
	if rs == nil {
		rs = map[string]int64{}
		c.routeStatuses[route] = rs
	}
	rs[code]++
}

func (c *statsCollector) fault(kind string) {
	c.mu.Lock()
	c.faults[kind]++
	c.mu.Unlock()
}

// add bumps a lifecycle counter.
func (c *statsCollector) add(p *int64, n int64) {
	c.mu.Lock()
	*p += n
	c.mu.Unlock()
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *statsCollector) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Requests:            copyMap(c.requests),
		Methods:             copyMap(c.methods),
		Statuses:            copyMap(c.statuses),
		RouteStatuses:       make(map[string]map[string]int64, len(c.routeStatuses)),
		Faults:              copyMap(c.faults),
		InstancesCreated:    c.created,
		InstancesTerminated: c.terminated,
		TasksCompleted:      c.completed,
		TasksFailed:         c.failed,
		Restarts:            c.restarts,
	}
	for k, v := range c.routeStatuses {
		s.RouteStatuses[k] = copyMap(v)
	}
	return s
}

// recorder captures the status code for the stats.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// discardWriter swallows a response (commit-then-drop fault).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// LedgerEntry records one instance ever created (rows are never removed).
type LedgerEntry struct {
	ID           uint64     `json:"id"`
	OwnerID      uint64     `json:"owner_id"`
	ProjectID    uint64     `json:"project_id"`
	Project      string     `json:"project"`
	Name         string     `json:"name"`
	Tags         []string   `json:"tags"`
	Provider     string     `json:"provider"`
	Status       string     `json:"status"`
	PublicIP     string     `json:"public_ip"`
	CreatedAt    time.Time  `json:"created_at"`
	TerminatedAt *time.Time `json:"terminated_at,omitempty"`
}

// Ledger returns every instance ever created, in id order.
func (s *Server) Ledger() []LedgerEntry {
	st := s.st
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]LedgerEntry, len(st.instances))
	for i := range st.instances {
		in := &st.instances[i]
		var tags []string
		if in.spec.tags != nil {
			tags = append([]string{}, in.spec.tags...)
		}
		out[i] = LedgerEntry{
			ID:           uint64(i + 1),
			OwnerID:      in.spec.ownerID,
			ProjectID:    in.spec.projectID,
			Project:      in.spec.projectName,
			Name:         in.name,
			Tags:         tags,
			Provider:     in.spec.provider,
			Status:       instanceStatusNames[in.status],
			PublicIP:     ipString(in.ip),
			CreatedAt:    ts(in.createdAt),
			TerminatedAt: tsPtr(in.terminatedAt),
		}
	}
	return out
}

// Stats returns a snapshot of all counters.
func (s *Server) Stats() Stats {
	snap := s.stats.snapshot()
	s.st.mu.RLock()
	snap.InstancesByStatus = make(map[string]int64, len(instanceStatusNames))
	for i, n := range s.st.statusCount {
		if n != 0 {
			snap.InstancesByStatus[instanceStatusNames[i]] = n
		}
	}
	s.st.mu.RUnlock()
	return snap
}

// ResetStats zeroes all counters (the status gauge reflects live rows).
func (s *Server) ResetStats() { s.stats.reset() }
