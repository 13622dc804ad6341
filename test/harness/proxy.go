package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// Record is one request that went through the Proxy.
type Record struct {
	// Arrived is when the proxy received the request; Responded when it started the answer
	// (zero when the connection was dropped).
	Arrived, Responded time.Time
	Method, Path       string
	// Status is 0 when no answer was given (the upstream dropped or refused the connection) or
	// the call is still in flight.
	Status int
	// RetryAfter is the answer's Retry-After, if any.
	RetryAfter time.Duration
	// Create holds the identity tags and counts of a POST /api/v1/instances body.
	Create []CreateRequest
	// APIKey is the apikey header sent (for key-rotation checks; tests never print it).
	APIKey string
	// Deadline is the deadline the client sent with the request (zero if none).
	Deadline time.Time
	// Forwarded is when the request was passed on to Talis: after Arrived when the proxy held it.
	Forwarded time.Time
	// RPC is the method of an RPC call (POST /api/v1), e.g. "project.delete".
	RPC string
	// Project is the Talis project a terminate (DELETE /api/v1/instances) or a project RPC names.
	Project string
	// InstanceIDs are the instances a terminate names, or the one whose tasks a GET
	// /api/v1/instances/{id}/tasks reads.
	InstanceIDs []int64
}

// CreateRequest is one element of a create body, reduced to what the ledger checks need.
type CreateRequest struct {
	Tags  []string
	Count int
	// Project is the request's project_name.
	Project string
}

// Proxy forwards HTTP to a Talis emulator and records every request with proxy-side timestamps:
// the tests measure Retry-After compliance and count create calls per set and attempt with it.
// When the upstream fails (refused, dropped, hung up) the proxy drops the client's connection
// too, so the manager sees what it would see without the proxy.
type Proxy struct {
	target *url.URL
	tr     *http.Transport
	ln     net.Listener
	srv    *http.Server

	mu      sync.Mutex
	records []Record
	hold    createHold
	gate    <-chan struct{} // create calls wait until it is closed (nil: none)
	creates int             // create calls the proxy has not finished with
}

// createHold makes the proxy sit on create calls before passing them on, like a gateway that
// is slow to forward: the call reaches Talis even if the client gave up on it meanwhile.
type createHold struct {
	rate     float64
	min, max time.Duration
	rng      *rand.Rand
}

// HoldCreates holds each create call, with probability rate, for a random time in [min, max)
// before forwarding it; rate 0 turns it off.
func (p *Proxy) HoldCreates(rate float64, min, max time.Duration, seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = createHold{rate: rate, min: min, max: max, rng: rand.New(rand.NewPCG(seed, 7))}
}

// HoldCreatesUntil holds every create call that arrives from now on until release is closed,
// then forwards it, like a gateway that sits on a request past its deadline: the call reaches
// Talis although the client gave up on it long before. A nil release stops holding new calls.
func (p *Proxy) HoldCreatesUntil(release <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate = release
}

func (p *Proxy) gated() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

func (p *Proxy) holdFor() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := &p.hold
	if h.rate <= 0 || h.rng.Float64() >= h.rate {
		return 0
	}
	return h.min + time.Duration(h.rng.Int64N(int64(h.max-h.min)+1))
}

func (p *Proxy) countCreate(delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.creates += delta
}

// CreatesInFlight is the number of create calls held or being forwarded: until it is 0, a
// create can still reach Talis after the operator has stopped expecting it.
func (p *Proxy) CreatesInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creates
}

// NewProxy starts a proxy to target on a free local port.
func NewProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, ln: ln, tr: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy.
func (p *Proxy) Close() error {
	p.tr.CloseIdleConnections()
	return p.srv.Close()
}

// Records returns a copy of everything recorded so far.
func (p *Proxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records...)
}

// Reset forgets the records.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = nil
}

// add records a request as it arrives (so that a call still in flight is on record, e.g. a
// create whose instances Talis already committed) and returns a function that updates the
// record when the call ends.
func (p *Proxy) add(r Record) func(func(*Record)) {
	p.mu.Lock()
	i := len(p.records)
	p.records = append(p.records, r)
	p.mu.Unlock()
	return func(update func(*Record)) {
		p.mu.Lock()
		update(&p.records[i])
		p.mu.Unlock()
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Record{Arrived: time.Now(), Method: r.Method, Path: r.URL.Path, APIKey: r.Header.Get("apikey")}
	if v := r.Header.Get(talis.DeadlineHeader); v != "" {
		rec.Deadline, _ = time.Parse(time.RFC3339Nano, v)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		p.add(rec)
		panic(http.ErrAbortHandler)
	}
	rec.parseBody(r, body)
	held := time.Duration(0)
	var gate <-chan struct{}
	if len(rec.Create) > 0 {
		held, gate = p.holdFor(), p.gated()
		p.countCreate(1)
		defer p.countCreate(-1)
	}
	update := p.add(rec)
	reqCtx := r.Context()
	if held > 0 || gate != nil {
		time.Sleep(held)
		if gate != nil {
			<-gate
		}
		reqCtx = context.WithoutCancel(reqCtx) // forwarded even if the client has gone
	}
	update(func(rec *Record) { rec.Forwarded = time.Now() })
	out := r.Clone(reqCtx)
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = p.target.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		panic(http.ErrAbortHandler) // drop the connection, as the upstream did (Status stays 0)
	}
	defer resp.Body.Close()
	update(func(rec *Record) {
		rec.Responded, rec.Status = time.Now(), resp.StatusCode
		if v := resp.Header.Get("Retry-After"); v != "" {
			if secs, err := strconv.Atoi(v); err == nil {
				rec.RetryAfter = time.Duration(secs) * time.Second
			}
		}
	})
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// parseBody records what a request body (or path) names: the instances and projects of creates
// and terminates, the method and project of an RPC call, the instance whose tasks are read.
func (rec *Record) parseBody(r *http.Request, body []byte) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/api/v1/instances"):
		var reqs []struct {
			Tags    []string `json:"tags"`
			Count   int      `json:"number_of_instances"`
			Project string   `json:"project_name"`
		}
		if json.Unmarshal(body, &reqs) == nil {
			for _, q := range reqs {
				rec.Create = append(rec.Create, CreateRequest{Tags: q.Tags, Count: q.Count, Project: q.Project})
			}
		}
	case r.Method == http.MethodDelete && strings.HasSuffix(path, "/api/v1/instances"):
		var del struct {
			Project string  `json:"project_name"`
			IDs     []int64 `json:"instance_ids"`
		}
		if json.Unmarshal(body, &del) == nil {
			rec.Project, rec.InstanceIDs = del.Project, del.IDs
		}
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/api/v1"):
		var rpc struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &rpc) == nil {
			rec.RPC, rec.Project = rpc.Method, rpc.Params.Name
		}
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/tasks"):
		if i := strings.LastIndex(path, "/instances/"); i >= 0 {
			id, err := strconv.ParseInt(strings.TrimSuffix(path[i+len("/instances/"):], "/tasks"), 10, 64)
			if err == nil {
				rec.InstanceIDs = []int64{id}
			}
		}
	}
}

// RetryAfterViolation is a request that arrived while an earlier Retry-After was in force.
type RetryAfterViolation struct {
	Limited Record // the 429 (or 503) that asked to wait
	Early   Record // the request that did not
}

// RetryAfterViolations finds requests that arrived after a Retry-After answer had been sent
// (plus slack, for requests already on their way) and before it expired.
func RetryAfterViolations(recs []Record, slack time.Duration) []RetryAfterViolation {
	var out []RetryAfterViolation
	for _, lim := range recs {
		if lim.RetryAfter <= 0 || lim.Responded.IsZero() {
			continue
		}
		from, until := lim.Responded.Add(slack), lim.Responded.Add(lim.RetryAfter)
		for _, r := range recs {
			if r.Arrived.After(from) && r.Arrived.Before(until) {
				out = append(out, RetryAfterViolation{Limited: lim, Early: r})
			}
		}
	}
	return out
}

// DumpCreates writes the create calls on record to path, one per line, for post-mortems.
func DumpCreates(path string, recs []Record) error {
	var b strings.Builder
	for _, r := range recs {
		for _, c := range r.Create {
			id, attempt := ownership(c.Tags)
			fmt.Fprintf(&b, "%s %s status=%d set=%s attempt=%d count=%d\n", r.Arrived.Format("15:04:05.000"),
				r.Responded.Format("15:04:05.000"), r.Status, id, attempt, c.Count)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// TalisBehindProxy starts an emulator with cfg and a recording proxy in front of it, both closed
// when the test ends.
func TalisBehindProxy(t testing.TB, cfg emulator.Config) (*emulator.Server, *Proxy) {
	t.Helper()
	emu := emulator.New(cfg)
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	proxy, err := NewProxy(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	return emu, proxy
}
