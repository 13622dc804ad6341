// Package contract runs every pkg/talis client method against the
// pkg/talis/emulator server over real HTTP and checks both sides against the
// real server's wire protocol (docs/talis-client.md): what the client puts on the wire
// (recorded by an http.RoundTripper) and what it decodes (compared with the
// emulator's own wire types, its ledger and its request statistics).
package contract

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// fastDelays keep the emulated lifecycle at ~50 ms per instance.
var fastDelays = emulator.Delays{
	Pickup:    10 * time.Millisecond,
	Create:    25 * time.Millisecond,
	Ready:     10 * time.Millisecond,
	Provision: 25 * time.Millisecond,
	Terminate: 15 * time.Millisecond,
}

const admin = talis.AdminOwnerID

// ---------------------------------------------------------------------------
// Coverage: every Client method must be exercised by the suite.

var (
	coveredMu sync.Mutex
	covered   = map[string]bool{}
)

func observe(ci talis.CallInfo) {
	coveredMu.Lock()
	covered[ci.Method] = true
	coveredMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	// Only a full run can prove coverage (-run selects a subset).
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		ct := reflect.TypeFor[talis.Client]()
		var missing []string
		for i := range ct.NumMethod() {
			if name := ct.Method(i).Name; !covered[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: client methods never called against the emulator: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// Wire recording.

// exchange is one HTTP attempt as the client put it on the wire.
type exchange struct {
	Method string
	Path   string // escaped, as sent
	Query  url.Values
	Header http.Header
	Body   []byte
	Status int // 0: no response
}

type wireLog struct {
	mu sync.Mutex
	ex []exchange
}

func (w *wireLog) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ex)
}

func (w *wireLog) since(n int) []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ex[n:])
}

// recordingTransport records each request before passing it on.
type recordingTransport struct {
	next http.RoundTripper
	log  *wireLog
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	rt.log.mu.Lock()
	i := len(rt.log.ex)
	rt.log.ex = append(rt.log.ex, exchange{
		Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.Query(),
		Header: req.Header.Clone(), Body: body,
	})
	rt.log.mu.Unlock()
	resp, err := rt.next.RoundTrip(req)
	if err == nil {
		rt.log.mu.Lock()
		rt.log.ex[i].Status = resp.StatusCode
		rt.log.mu.Unlock()
	}
	return resp, err
}

// ---------------------------------------------------------------------------
// Environment: one emulator on 127.0.0.1:0 and a recording client.

type env struct {
	t    *testing.T
	srv  *emulator.Server
	url  string
	wire *wireLog
	c    *talis.APIClient
	key  string // API key the client sends ("" = none)
	ctx  context.Context
}

// newEnv starts an emulator and a client whose transport records every
// attempt. tweak may adjust the client options.
func newEnv(t *testing.T, cfg emulator.Config, tweak func(*talis.Options)) *env {
	t.Helper()
	if cfg.Delays == (emulator.Delays{}) {
		cfg.Delays = fastDelays
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	srv := emulator.New(cfg)
	u, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, srv: srv, url: u, wire: &wireLog{}, ctx: ctx}
	o := e.baseOptions()
	if tweak != nil {
		tweak(&o)
	}
	e.key = o.APIKey
	c, err := talis.NewClient(&o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	e.c = c
	return e
}

// baseOptions are the client options of the suite: short backoffs, a
// recording transport, the coverage observer.
func (e *env) baseOptions() talis.Options {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	e.t.Cleanup(tr.CloseIdleConnections)
	return talis.Options{
		BaseURL: e.url,
		Timeout: 5 * time.Second,
		HTTPClient: &http.Client{
			Transport:     &recordingTransport{next: tr, log: e.wire},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Retry:    talis.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 2 * time.Second},
		Observer: observe,
	}
}

// newClient builds another client on the same emulator and wire log.
func (e *env) newClient(tweak func(*talis.Options)) *talis.APIClient {
	e.t.Helper()
	o := e.baseOptions()
	if tweak != nil {
		tweak(&o)
	}
	c, err := talis.NewClient(&o)
	if err != nil {
		e.t.Fatalf("NewClient: %v", err)
	}
	return c
}

// capture runs fn and returns the attempts it put on the wire.
func (e *env) capture(fn func()) []exchange {
	m := e.wire.mark()
	fn()
	return e.wire.since(m)
}

// one runs fn and returns its single attempt.
func (e *env) one(t *testing.T, fn func()) exchange {
	t.Helper()
	ex := e.capture(fn)
	if len(ex) != 1 {
		t.Fatalf("expected exactly one HTTP request, got %d: %v", len(ex), summarize(ex))
	}
	return ex[0]
}

func summarize(ex []exchange) []string {
	out := make([]string, len(ex))
	for i, x := range ex {
		out[i] = fmt.Sprintf("%s %s?%s → %d", x.Method, x.Path, x.Query.Encode(), x.Status)
	}
	return out
}

// requests returns how many requests the emulator counted for a route.
func (e *env) requests(route string) int64 { return e.srv.Stats().Requests[route] }

// must(call())(t) returns call's value and fails t on its error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// eventually polls cond every 10 ms until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Fixtures.

func instReq(project string, owner uint, provider, name string, n int, tags ...string) talis.InstanceRequest {
	return talis.InstanceRequest{
		OwnerID: owner, Provider: provider, Region: "nyc1", Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64",
		Tags: tags, ProjectName: project, Name: name, NumberOfInstances: n,
		Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10, MountPoint: "/mnt/data"}},
	}
}

func (e *env) mkProject(t *testing.T, name string, owner uint) talis.Project {
	t.Helper()
	return must(e.c.CreateProject(e.ctx, talis.ProjectCreateParams{Name: name, OwnerID: owner}))(t)
}

// waitStatus polls GetInstance until every instance has the status.
func (e *env) waitStatus(t *testing.T, ids []uint, st talis.InstanceStatus) []talis.Instance {
	t.Helper()
	out := make([]talis.Instance, len(ids))
	for i, id := range ids {
		eventually(t, fmt.Sprintf("instance %d %s", id, st), func() bool {
			in, err := e.c.GetInstance(e.ctx, fmt.Sprint(id))
			noErr(t, err)
			out[i] = in
			return in.Status == st
		})
	}
	return out
}

func idsOf(rows []*talis.Instance) []uint {
	out := make([]uint, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func sortedIDs(rows []*talis.Instance) []uint {
	ids := idsOf(rows)
	slices.Sort(ids)
	return ids
}

func ledgerByID(srv *emulator.Server) map[uint]emulator.LedgerEntry {
	out := map[uint]emulator.LedgerEntry{}
	for _, l := range srv.Ledger() {
		out[uint(l.ID)] = l
	}
	return out
}

// apiErr asserts err is an *APIError and returns it.
func apiErr(t *testing.T, err error) *talis.APIError {
	t.Helper()
	var ae *talis.APIError
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	if !errors.As(err, &ae) {
		t.Fatalf("expected *talis.APIError, got %T: %v", err, err)
	}
	return ae
}

// wantInvalid asserts a server-side validation failure with its exact message.
func wantInvalid(t *testing.T, err error, status int, msg string) {
	t.Helper()
	ae := apiErr(t, err)
	if !talis.IsInvalid(err) || talis.IsNotFound(err) || talis.IsAlreadyExists(err) || talis.IsAmbiguous(err) || talis.IsRetryable(err) {
		t.Errorf("%v: IsInvalid=%v IsNotFound=%v IsAlreadyExists=%v IsAmbiguous=%v IsRetryable=%v", err,
			talis.IsInvalid(err), talis.IsNotFound(err), talis.IsAlreadyExists(err), talis.IsAmbiguous(err), talis.IsRetryable(err))
	}
	if ae.StatusCode != status || ae.Message != msg {
		t.Errorf("got %d %q, want %d %q", ae.StatusCode, ae.Message, status, msg)
	}
}

// wantNotFound asserts a not-found error with the server's status.
func wantNotFound(t *testing.T, err error, status int) *talis.APIError {
	t.Helper()
	ae := apiErr(t, err)
	if !talis.IsNotFound(err) || talis.IsInvalid(err) || talis.IsRetryable(err) || talis.IsAmbiguous(err) || talis.IsAlreadyExists(err) {
		t.Errorf("%v: IsNotFound=%v IsInvalid=%v IsRetryable=%v IsAmbiguous=%v IsAlreadyExists=%v", err,
			talis.IsNotFound(err), talis.IsInvalid(err), talis.IsRetryable(err), talis.IsAmbiguous(err), talis.IsAlreadyExists(err))
	}
	if ae.StatusCode != status {
		t.Errorf("status %d, want %d (%v)", ae.StatusCode, status, err)
	}
	return ae
}

func wantAlreadyExists(t *testing.T, err error, status int) {
	t.Helper()
	ae := apiErr(t, err)
	if !talis.IsAlreadyExists(err) || talis.IsInvalid(err) || talis.IsNotFound(err) || talis.IsRetryable(err) || talis.IsAmbiguous(err) {
		t.Errorf("%v: IsAlreadyExists=%v IsInvalid=%v IsNotFound=%v IsRetryable=%v IsAmbiguous=%v", err,
			talis.IsAlreadyExists(err), talis.IsInvalid(err), talis.IsNotFound(err), talis.IsRetryable(err), talis.IsAmbiguous(err))
	}
	if ae.StatusCode != status {
		t.Errorf("status %d, want %d (%v)", ae.StatusCode, status, err)
	}
}
