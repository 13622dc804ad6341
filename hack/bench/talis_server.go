package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// talisServer is an emulator served through a handler that counts the response bytes it
// writes per route: what a Talis endpoint sends the operator matters as much as how often it
// is asked once lists carry rows the operator does not own. The emulator's own counters
// (Stats) count calls; the wire behaviour is the emulator's, untouched.
type talisServer struct {
	*emulator.Server
	url   string
	srv   *http.Server
	bytes *byteCounter
}

func startTalisServer(emu *emulator.Server) (*talisServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bc := &byteCounter{byRoute: map[string]int64{}, serving: map[string]time.Duration{}}
	t := &talisServer{Server: emu, url: "http://" + ln.Addr().String(), bytes: bc,
		srv: &http.Server{Handler: bc.wrap(emu.Handler()), ReadHeaderTimeout: 30 * time.Second}}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

// URL is where the counting handler listens (the emulator's own Start is not used).
func (t *talisServer) URL() string { return t.url }

func (t *talisServer) Close() error {
	_ = t.srv.Close()
	return t.Server.Close()
}

// byteCounter counts response body bytes per route, named as the emulator's Stats name them.
type byteCounter struct {
	mu      sync.Mutex
	byRoute map[string]int64
	// serving: time spent in the handler per route; shows when a compressed clock asks for
	// lists faster than they can be served.
	serving map[string]time.Duration
	// inflight is the number of requests in the handler: a window starts between requests,
	// so that none is counted in part (a list sent before it and served into it).
	inflight int
}

func (c *byteCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r)
		cw := &countingWriter{ResponseWriter: w}
		c.mu.Lock()
		c.inflight++
		c.mu.Unlock()
		t0 := time.Now()
		defer func() {
			c.mu.Lock()
			c.byRoute[route] += cw.n
			c.serving[route] += time.Since(t0)
			c.inflight--
			c.mu.Unlock()
		}()
		h.ServeHTTP(cw, r)
	})
}

func (c *byteCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.byRoute))
	for k, v := range c.byRoute {
		out[k] = v
	}
	return out
}

// servingSeconds is the time spent serving each route since the last reset.
func (c *byteCounter) servingSeconds() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]float64, len(c.serving))
	for k, v := range c.serving {
		out[k] = round3(v.Seconds())
	}
	return out
}

// resetStats resets the emulator's counters and the byte counter together, at a moment no
// request is being served (waiting at most a few seconds for one): a restarted manager's first
// instance list can still be on the wire when its sets have all been reconciled once (they
// wait for it), and would otherwise count in the window that follows.
func (t *talisServer) resetStats() { t.bytes.resetIdle(5*time.Second, t.ResetStats) }

// resetIdle clears the counts, and runs also, once no request is in the handler (or after
// timeout): no request can start or end until both are done.
func (c *byteCounter) resetIdle(timeout time.Duration, also func()) {
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		if c.inflight == 0 || time.Now().After(deadline) {
			also()
			c.byRoute = map[string]int64{}
			c.serving = map[string]time.Duration{}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var (
	instanceIDPath = regexp.MustCompile(`^/api/v1/instances/[0-9]+$`)
	instanceTasks  = regexp.MustCompile(`^/api/v1/instances/[0-9]+/tasks$`)
)

// routeOf names a request as the emulator's stats do: "GET /api/v1/instances",
// "GET /api/v1/instances/:id", "RPC project.get" (the RPC method read from the body, which
// is put back for the emulator).
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case instanceIDPath.MatchString(p):
		p = "/api/v1/instances/:id"
	case instanceTasks.MatchString(p):
		p = "/api/v1/instances/:instance_id/tasks"
	case r.Method == http.MethodPost && (p == "/api/v1" || p == "/api/v1/"):
		body, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var call struct {
			Method string `json:"method"`
		}
		if err == nil && json.Unmarshal(body, &call) == nil && call.Method != "" {
			return "RPC " + call.Method
		}
	}
	return r.Method + " " + p
}
