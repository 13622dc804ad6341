package contract

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// What the real server reads (docs/talis-client.md). Keys outside these sets would be
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
