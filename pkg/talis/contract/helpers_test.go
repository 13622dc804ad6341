// Package contract runs every pkg/talis client method against the
// pkg/talis/emulator server over real HTTP and checks both sides against the
// wire protocol in /work/shared/talis-api.md: what the client puts on the wire
// (recorded by an http.RoundTripper) and what it decodes (compared with the
// emulator's own wire types, its ledger and its request statistics).
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
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
// What the server reads, per talis-api.md. Keys outside these sets would be
// ignored by the server (or mean something else), so the client must not
// rely on them.

// restQuery is, per route, the query parameters the server reads (§2.2–2.8)
// plus the ones it is documented to ignore but the client sends on purpose.
var restQuery = map[string]struct{ read, ignored []string }{
	"GET /health":                              {},
	"GET /api/v1/instances":                    {read: []string{"limit", "offset", "include_deleted", "status"}},
	"GET /api/v1/admin/instances":              {read: []string{"limit", "offset", "include_deleted", "status"}},
	"GET /api/v1/instances/all-metadata":       {read: []string{"limit", "offset", "include_deleted"}, ignored: []string{"status"}},
	"GET /api/v1/admin/instances/all-metadata": {read: []string{"limit", "offset", "include_deleted"}, ignored: []string{"status"}},
	"GET /api/v1/instances/public-ips":         {read: []string{"limit", "offset", "include_deleted"}, ignored: []string{"status"}},
	"GET /api/v1/instances/{id}":               {},
	// owner_id is sent as upstream does; the server always uses 4294967295.
	"GET /api/v1/instances/{id}/tasks": {read: []string{"action", "limit", "offset"}, ignored: []string{"owner_id"}},
	"POST /api/v1/instances":           {},
	"DELETE /api/v1/instances":         {},
	"POST /api/v1":                     {},
}

// rpcParams is §4.8: the JSON names of each method's params.
var rpcParams = map[string]struct{ required, optional []string }{
	"project.create":        {[]string{"name", "owner_id"}, []string{"description", "config"}},
	"project.get":           {[]string{"name", "owner_id"}, nil},
	"project.list":          {[]string{"owner_id"}, []string{"page"}},
	"project.delete":        {[]string{"name", "owner_id"}, nil},
	"project.listInstances": {[]string{"name", "owner_id"}, []string{"page"}},
	"task.get":              {[]string{"task_id", "owner_id"}, nil},
	"task.list":             {[]string{"projectName", "owner_id"}, []string{"page"}},
	"task.terminate":        {[]string{"task_id", "owner_id"}, nil},
	"task.updateStatus":     {[]string{"task_id", "status", "owner_id"}, nil},
	"user.create":           {[]string{"username"}, []string{"email", "role", "public_ssh_key"}},
	"user.get":              {nil, []string{"username", "page"}},
	"user.get.id":           {[]string{"id"}, nil},
	"user.delete":           {[]string{"id"}, nil},
	"sshkey.create":         {[]string{"name", "public_key", "owner_id"}, nil},
	"sshkey.list":           {[]string{"owner_id"}, nil},
	"sshkey.delete":         {[]string{"name", "owner_id"}, nil},
}

// instanceRequestKeys is §4.5 without the server-internal keys.
var instanceRequestKeys = []string{
	"owner_id", "provider", "region", "size", "memory", "cpu", "image", "tags", "project_name", "name",
	"number_of_instances", "provision", "payload_path", "execute_payload", "volumes", "ssh_key_type", "ssh_key_path",
}
var instanceRequestRequired = []string{"owner_id", "provider", "region", "image", "project_name", "number_of_instances", "volumes"}
var volumeKeys = []string{"name", "size_gb", "region", "filesystem", "mount_point"}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func subset(keys, allowed []string) []string {
	var extra []string
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	return extra
}

// checkCommon asserts what every request carries (§7): JSON content type
// and Accept, the key only as the `apikey` header, never in the URL.
func (e *env) checkCommon(t *testing.T, x exchange) {
	t.Helper()
	if x.Body != nil || x.Method != http.MethodGet {
		if ct := x.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", x.Method, x.Path, ct)
		}
	}
	if a := x.Header.Get("Accept"); a != "application/json" {
		t.Errorf("%s %s: Accept %q", x.Method, x.Path, a)
	}
	if got := x.Header.Get("apikey"); got != e.key {
		t.Errorf("%s %s: apikey header %q, want %q", x.Method, x.Path, got, e.key)
	}
	for _, h := range []string{"X-API-Key", "Authorization"} {
		if x.Header.Get(h) != "" {
			t.Errorf("%s %s: unexpected %s header", x.Method, x.Path, h)
		}
	}
	if x.Query.Has("apikey") {
		t.Errorf("%s %s: API key sent in the query string", x.Method, x.Path)
	}
}

// checkREST asserts method, path and query of a REST call. route is the
// restQuery key, path the expected escaped path, want the exact query.
func (e *env) checkREST(t *testing.T, x exchange, route, path string, want url.Values) {
	t.Helper()
	e.checkCommon(t, x)
	method, _, _ := strings.Cut(route, " ")
	if x.Method != method || x.Path != path {
		t.Errorf("request %s %s, want %s %s", x.Method, x.Path, method, path)
	}
	spec, ok := restQuery[route]
	if !ok {
		t.Fatalf("no spec for route %q", route)
	}
	allowed := append(slices.Clone(spec.read), spec.ignored...)
	if extra := subset(slices.Sorted(maps.Keys(x.Query)), allowed); len(extra) > 0 {
		t.Errorf("%s: query parameters %v are not read by the server (reads %v)", route, extra, spec.read)
	}
	if want == nil {
		want = url.Values{}
	}
	if !reflect.DeepEqual(x.Query, want) {
		t.Errorf("%s: query %v, want %v", route, x.Query, want)
	}
	if method == http.MethodGet && x.Body != nil {
		t.Errorf("%s: GET with a body", route)
	}
}

// checkRPC asserts an RPC call (§3.1): POST /api/v1 with exactly
// {"method","params"}, and params keys as §4.8 names them. It returns the
// params object.
func (e *env) checkRPC(t *testing.T, x exchange, method string) map[string]json.RawMessage {
	t.Helper()
	e.checkCommon(t, x)
	if x.Method != http.MethodPost || x.Path != "/api/v1" {
		t.Errorf("RPC %s sent as %s %s, want POST /api/v1", method, x.Method, x.Path)
	}
	if len(x.Query) != 0 {
		t.Errorf("RPC %s: unexpected query %v", method, x.Query)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(x.Body, &env); err != nil {
		t.Fatalf("RPC %s: body is not a JSON object: %v (%s)", method, err, x.Body)
	}
	if got := keysOf(env); !reflect.DeepEqual(got, []string{"method", "params"}) {
		t.Errorf("RPC %s: envelope keys %v, want [method params] (no id, no jsonrpc)", method, got)
	}
	var m string
	if err := json.Unmarshal(env["method"], &m); err != nil || m != method {
		t.Errorf("RPC method %s, want %q", env["method"], method)
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(env["params"], &params); err != nil || params == nil {
		t.Fatalf("RPC %s: params is not a JSON object: %s", method, env["params"])
	}
	spec, ok := rpcParams[method]
	if !ok {
		t.Fatalf("no spec for RPC %q", method)
	}
	keys := keysOf(params)
	if extra := subset(keys, append(slices.Clone(spec.required), spec.optional...)); len(extra) > 0 {
		t.Errorf("RPC %s: params %v are not read by the server (reads %v + %v)", method, extra, spec.required, spec.optional)
	}
	for _, k := range spec.required {
		if !slices.Contains(keys, k) {
			t.Errorf("RPC %s: required param %q missing (sent %v)", method, k, keys)
		}
	}
	return params
}

// jsonIs asserts a raw JSON value equals v once both are normalised.
func jsonIs(t *testing.T, what string, raw json.RawMessage, v any) {
	t.Helper()
	want, _ := json.Marshal(v)
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s = %s, want %s", what, raw, want)
	}
}

// ---------------------------------------------------------------------------
// Raw access to the emulator with its own (independent) wire types.

func (e *env) rawGet(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, e.url+path, nil)
	if e.key != "" {
		req.Header.Set("apikey", e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("raw GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("raw GET %s: %v", path, err)
	}
}

func (e *env) rawRPC(t *testing.T, method string, params, out any) {
	t.Helper()
	body, _ := json.Marshal(emulator.RPCRequest{Method: method, Params: params})
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodPost, e.url+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if e.key != "" {
		req.Header.Set("apikey", e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw RPC %s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Data    json.RawMessage `json:"data"`
		Success bool            `json:"success"`
	}
	if err := json.Unmarshal(b, &env); err != nil || !env.Success {
		t.Fatalf("raw RPC %s: %d %s", method, resp.StatusCode, b)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("raw RPC %s data: %v", method, err)
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func sameTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// sameInstance compares the client's decoding with the emulator's own.
func sameInstance(t *testing.T, got *talis.Instance, want emulator.Instance) {
	t.Helper()
	var vd []talis.VolumeDetails
	for _, v := range want.VolumeDetails {
		vd = append(vd, talis.VolumeDetails{ID: v.ID, Name: v.Name, Region: v.Region, SizeGB: v.SizeGB, MountPoint: v.MountPoint})
	}
	if len(got.VolumeDetails) == 0 && len(vd) == 0 {
		vd = got.VolumeDetails
	}
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.OwnerID == want.OwnerID && got.ProjectID == want.ProjectID &&
		got.Name == want.Name && got.ProviderID == want.ProviderID && got.ProviderInstanceID == want.ProviderInstanceID &&
		got.PublicIP == want.PublicIP && got.Region == want.Region && got.Size == want.Size && got.Image == want.Image &&
		slices.Equal(got.Tags, want.Tags) && string(got.Status) == want.Status && slices.Equal(got.VolumeIDs, want.VolumeIDs) &&
		reflect.DeepEqual(got.VolumeDetails, vd) && sameTime(got.CreatedAt, want.CreatedAtReal) &&
		string(got.PayloadStatus) == want.PayloadStatus
	if !ok {
		t.Errorf("instance decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameTask(t *testing.T, got *talis.Task, want emulator.Task) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.ProjectID == want.ProjectID && got.InstanceID == want.InstanceID &&
		string(got.Action) == want.Action && string(got.Status) == want.Status && bytes.Equal(got.Payload, want.Payload) &&
		bytes.Equal(got.Result, want.Result) && got.Attempts == want.Attempts && got.Logs == want.Logs &&
		got.Error == want.Error && got.WebhookURL == want.WebhookURL && got.WebhookSent == want.WebhookSent &&
		sameTime(got.CreatedAt, want.CreatedAtReal) && sameTimePtr(got.LockedAt, want.LockedAt) &&
		sameTimePtr(got.LockExpiry, want.LockExpiry) && int(got.Priority) == want.Priority && got.OwnerID == admin
	if !ok {
		t.Errorf("task decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameProject(t *testing.T, got *talis.Project, want emulator.Project, owner uint) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Name == want.Name && got.Description == want.Description &&
		got.Config == want.Config && got.Tasks == nil && sameTime(got.CreatedAt, want.CreatedAtReal) && got.OwnerID == owner
	if !ok {
		t.Errorf("project decoded as\n %+v\nemulator holds\n %+v (owner %d)", *got, want, owner)
	}
}

func sameUser(t *testing.T, got *talis.User, want emulator.User) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.ModelUpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Username == want.Username && got.Email == want.Email &&
		int(got.Role) == int(want.Role) && got.PublicSSHKey == want.PublicSSHKey && got.CreatedAt == want.CreatedAtText &&
		got.UpdatedAt == want.UpdatedAtText
	if !ok {
		t.Errorf("user decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameSSHKey(t *testing.T, got *talis.SSHKey, want emulator.SSHKey) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.CreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Name == want.Name && got.PublicKey == want.PublicKey &&
		got.OwnerID == want.OwnerID
	if !ok {
		t.Errorf("ssh key decoded as\n %+v\nemulator holds\n %+v", *got, want)
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
