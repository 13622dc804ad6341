/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// reqCtx carries one request through the pipeline.
type reqCtx struct {
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	param  string
	rpc    *RPCRequest
	rpcErr error
}

var errTooLarge = errors.New("Request Entity Too Large")

// ServeHTTP runs the pipeline: control endpoints, then (as the gateway)
// key-auth, rate limiting and fault injection, then the emulated server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		panic(http.ErrAbortHandler) // "restarting": drop the connection
	}
	if r.URL.Path == "/emulator" || strings.HasPrefix(r.URL.Path, "/emulator/") {
		s.serveControl(w, r)
		return
	}
	path, raw := r.URL.Path, r.URL.EscapedPath()
	if pre := s.cfg.PathPrefix; pre != "" && (path == pre || strings.HasPrefix(path, pre+"/")) {
		path, raw = path[len(pre):], strings.TrimPrefix(raw, pre)
		if path == "" {
			path, raw = "/", "/"
		}
	}
	// Fiber v2's default config (UnescapePath false) routes on the path as
	// sent: an escaped "/" (%2F) stays inside its segment, so e.g.
	// /api/v1/instances/1%2Ftasks is GetInstance with id "1%2Ftasks" (400),
	// not the instance-tasks route.
	m := matchRoute(r.Method, raw)
	rec := &recorder{ResponseWriter: w}
	c := &reqCtx{w: rec, r: r, param: m.param}
	name := m.name
	defer func() { s.stats.record(name, r.Method, rec.status) }()

	if !s.gatewayAuth(rec, r) || !s.gatewayRateLimit(rec) {
		return
	}
	if m.allowed && (m.kind == rkCreate || m.kind == rkDelete || m.kind == rkRPC) {
		body, err := readBody(r, s.cfg.BodyLimit)
		if errors.Is(err, errTooLarge) {
			writePlain(rec, http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		c.body = body
		if m.kind == rkRPC {
			c.rpc, c.rpcErr = parseRPC(r, body)
			name = rpcRouteName(c.rpc, c.rpcErr)
		}
	}

	rf, has := s.faults.Load().route(name, m.kind == rkRPC)
	if has && !s.injectFaults(c, rf, m.kind) {
		return
	}
	if has && s.rng.hit(rf.CommitThenDropRate) {
		s.stats.fault("commit_then_drop")
		c.w = &discardWriter{h: http.Header{}}
		s.dispatch(c, m, raw)
		s.hang(r, rf.Hang)
		panic(http.ErrAbortHandler)
	}
	s.dispatch(c, m, raw)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

func (s *Server) dispatch(c *reqCtx, m match, raw string) {
	switch {
	case !m.found:
		notFound(c.w, c.r.Method, raw)
		return
	case !m.allowed:
		methodNotAllowed(c.w, m.allow)
		return
	}
	switch m.kind {
	case rkHealth:
		writeJSON(c.w, http.StatusOK, map[string]string{"status": "healthy"})
	case rkList:
		s.listInstances(c, true)
	case rkMetadata:
		s.listInstances(c, false)
	case rkPublicIPs:
		s.publicIPs(c)
	case rkGet:
		s.getInstance(c)
	case rkTasks:
		s.instanceTasks(c)
	case rkCreate:
		s.createInstances(c)
	case rkDelete:
		s.terminateInstances(c)
	case rkRPC:
		s.handleRPC(c)
	case rkSwagger:
		writeRaw(c.w, http.StatusOK, "text/html; charset=utf-8", []byte(swaggerHTML))
	case rkSwaggerDoc:
		writeRaw(c.w, http.StatusOK, "application/json", []byte(swaggerDoc))
	}
}

// gatewayAuth emulates Kong key-auth (header or query parameter "apikey").
func (s *Server) gatewayAuth(w http.ResponseWriter, r *http.Request) bool {
	keys := *s.apiKeys.Load()
	if len(keys) == 0 {
		return true
	}
	key := r.Header.Get("apikey")
	if key == "" {
		key = r.URL.Query().Get("apikey")
	}
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Key realm="kong"`)
		writeGateway(w, http.StatusUnauthorized, "No API key found in request")
		return false
	}
	if !keys[key] {
		writeGateway(w, http.StatusUnauthorized, "Invalid authentication credentials")
		return false
	}
	return true
}

// gatewayRateLimit emulates Kong rate-limiting: a burst of forced 429s,
// then the token bucket (gatewayLimiter).
func (s *Server) gatewayRateLimit(w http.ResponseWriter) bool {
	for {
		n := s.next429.Load()
		if n <= 0 {
			break
		}
		if s.next429.CompareAndSwap(n, n-1) {
			s.stats.fault("rate_limit_burst")
			write429(w, retryAfterSeconds(s.faults.Load().RetryAfter))
			return false
		}
	}
	if ok, wait := s.limiter.take(); !ok {
		s.stats.fault("rate_limit")
		write429(w, retryAfterSeconds(wait))
		return false
	}
	return true
}

func write429(w http.ResponseWriter, secs int) {
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.Itoa(secs))
	writeGateway(w, http.StatusTooManyRequests, "API rate limit exceeded")
}

var gatewayMessages = map[int]string{
	http.StatusBadGateway:         "An invalid response was received from the upstream server",
	http.StatusServiceUnavailable: "failure to get a peer from the ring-balancer",
	http.StatusGatewayTimeout:     "The upstream server is timing out",
}

// injectFaults applies pre-handler faults; false means it answered.
func (s *Server) injectFaults(c *reqCtx, rf RouteFault, kind routeKind) bool {
	if s.rng.hit(rf.GatewayErrorRate) {
		code := rf.GatewayStatus
		if gatewayMessages[code] == "" {
			code = http.StatusBadGateway
		}
		s.stats.fault("gateway_" + strconv.Itoa(code))
		writeGateway(c.w, code, gatewayMessages[code])
		return false
	}
	if d := rf.Latency + s.rng.duration(rf.Jitter); d > 0 {
		s.stats.fault("latency")
		s.hang(c.r, d)
	}
	if s.rng.hit(rf.TimeoutRate) {
		s.stats.fault("timeout")
		s.hang(c.r, rf.Hang)
		panic(http.ErrAbortHandler)
	}
	if s.rng.hit(rf.ErrorRate) {
		s.stats.fault("error_500")
		s.serverError(c, kind)
		return false
	}
	return true
}

// serverError answers 500 in the shape the route uses for DB errors.
func (s *Server) serverError(c *reqCtx, kind routeKind) {
	w := c.w
	switch kind {
	case rkList:
		writePlain(w, 500, "failed to list instances: "+faultMsg)
	case rkMetadata:
		writePlain(w, 500, "failed to get instance metadata: "+faultMsg)
	case rkPublicIPs:
		writePlain(w, 500, "failed to get public IPs: "+faultMsg)
	case rkGet:
		writePlain(w, 500, "failed to get instance: "+faultMsg)
	case rkDelete:
		writePlain(w, 500, "failed to terminate instances: "+faultMsg)
	case rkCreate:
		writeSlug(w, 500, slugServerError, "failed to add instances to database: "+faultMsg, nil)
	case rkTasks:
		writeSlug(w, 500, slugServerError, "Failed to retrieve tasks for the instance", nil)
	case rkRPC:
		msg := rpcFailMessages[c.rpc.Method]
		if msg == "" {
			msg = "Internal Server Error"
		}
		writeRPCError(w, 500, msg, faultMsg, c.rpc.ID)
	default:
		writePlain(w, 500, "Internal Server Error")
	}
}

// hang waits d, or less if the client goes away or the server closes.
func (s *Server) hang(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.quit:
	}
}
