package talis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseErrorBodyShapes(t *testing.T) {
	type want struct {
		shape                                   bodyShape
		status                                  int
		msg, detail, slug                       string
		notFound, exists, invalid, retry, ambig bool
	}
	cases := []struct {
		name   string
		status int
		body   string
		want   want
	}{
		{"rpc validation", 400, string(mustRead("rpc_error_validation.json")),
			want{shape: shapeRPC, status: 400, msg: "project name is required", invalid: true}},
		{"rpc duplicate postgres", 500, string(mustRead("rpc_error_duplicate_pg.json")),
			want{shape: shapeRPC, status: 500, msg: "Failed to create project",
				detail: `ERROR: duplicate key value violates unique constraint "uni_projects_name" (SQLSTATE 23505)`, exists: true}},
		{"rpc duplicate sqlite", 400, string(mustRead("rpc_error_duplicate_sqlite.json")),
			want{shape: shapeRPC, status: 400, msg: "Project already exists", detail: "UNIQUE constraint failed: projects.name", exists: true}},
		{"rpc user duplicate", 500, string(mustRead("rpc_error_user_duplicate.json")),
			want{shape: shapeRPC, status: 500, msg: "Failed to create user", detail: "failed to create user\nusername already exists", exists: true}},
		{"rpc user unique", 500, `{"error":{"code":500,"message":"Failed to create user","data":"failed to create user\nUNIQUE constraint failed: users.username"},"success":false}`,
			want{shape: shapeRPC, status: 500, msg: "Failed to create user", detail: "failed to create user\nUNIQUE constraint failed: users.username", exists: true}},
		{"rpc sshkey duplicate", 500, `{"error":{"code":500,"message":"Failed to create SSH key","data":"ERROR: duplicate key value violates unique constraint \"idx_sshkey_owner_name\" (SQLSTATE 23505)"},"success":false}`,
			want{shape: shapeRPC, status: 500, msg: "Failed to create SSH key", detail: `ERROR: duplicate key value violates unique constraint "idx_sshkey_owner_name" (SQLSTATE 23505)`, exists: true}},
		{"rpc not found", 404, string(mustRead("rpc_error_not_found.json")),
			want{shape: shapeRPC, status: 404, msg: "Project not found", detail: "record not found", notFound: true}},
		{"rpc listInstances unknown project", 500, `{"error":{"code":500,"message":"Failed to list project instances","data":"record not found"},"success":false}`,
			want{shape: shapeRPC, status: 500, msg: "Failed to list project instances", detail: "record not found", notFound: true}},
		{"rpc sshkey delete missing", 500, `{"error":{"code":500,"message":"Failed to delete SSH key","data":"SSH key 'k' not found for owner 7"},"success":false}`,
			want{shape: shapeRPC, status: 500, msg: "Failed to delete SSH key", detail: "SSH key 'k' not found for owner 7", notFound: true}},
		{"rpc db failure", 500, `{"error":{"code":500,"message":"Failed to get project","data":"driver: bad connection"},"success":false}`,
			want{shape: shapeRPC, status: 500, msg: "Failed to get project", detail: "driver: bad connection", retry: true, ambig: true}},
		{"rpc invalid request", 400, string(mustRead("rpc_error_invalid_request.json")),
			want{shape: shapeRPC, status: 400, msg: "Invalid request format", detail: "json: cannot unmarshal number into Go struct field RPCRequest.id of type string", invalid: true}},
		{"slug invalid", 400, string(mustRead("slug_error_invalid.json")),
			want{shape: shapeSlug, status: 400, msg: "invalid instance status: invalid instance status: bogus", slug: "invalid-input", invalid: true}},
		{"slug project lookup", 500, string(mustRead("slug_error_project_not_found.json")),
			want{shape: shapeSlug, status: 500, msg: "failed to get project: record not found", slug: "server-error", notFound: true}},
		{"slug tasks insert", 500, `{"slug":"server-error","error":"failed to add tasks to database: deadlock","data":null}`,
			want{shape: shapeSlug, status: 500, msg: "failed to add tasks to database: deadlock", slug: "server-error", retry: true, ambig: true}},
		{"plain instance missing", 500, string(mustRead("plain_error_instance_not_found.json")),
			want{shape: shapePlain, status: 500, msg: "failed to get instance: failed to get instance: record not found", notFound: true}},
		{"plain delete unknown project", 500, string(mustRead("plain_error_delete_project.json")),
			want{shape: shapePlain, status: 500, msg: "failed to terminate instances: failed to get project 'nosuch': record not found", notFound: true}},
		{"plain required", 400, `{"error":"project name and instance IDs are required"}`,
			want{shape: shapePlain, status: 400, msg: "project name and instance IDs are required", invalid: true}},
		{"plain route miss", 404, string(mustRead("plain_error_route.json")),
			want{shape: shapePlain, status: 404, msg: "Cannot GET /api/v1/whatever"}},
		{"plain 405", 405, `{"error":"Method Not Allowed"}`,
			want{shape: shapePlain, status: 405, msg: "Method Not Allowed"}},
		{"gateway 401", 401, string(mustRead("gateway_error.json")),
			want{shape: shapeGateway, status: 401, msg: "No API key found in request"}},
		{"gateway route miss", 404, `{"message":"no Route matched with those values"}`,
			want{shape: shapeGateway, status: 404, msg: "no Route matched with those values"}},
		{"gateway 429", 429, `{"message":"API rate limit exceeded"}`,
			want{shape: shapeGateway, status: 429, msg: "API rate limit exceeded", retry: true}},
		{"text 502", 502, "  upstream connect error\n", want{shape: shapeText, status: 502, msg: "upstream connect error", retry: true, ambig: true}},
		{"text default handler", 404, "Cannot GET /x", want{shape: shapeText, status: 404, msg: "Cannot GET /x"}},
		{"empty 503", 503, "", want{shape: shapeText, status: 503, msg: "Service Unavailable", retry: true, ambig: true}},
		{"odd json", 500, `{"foo":1}`, want{shape: shapeText, status: 500, msg: `{"foo":1}`, retry: true, ambig: true}},
		{"rpc code at 200", 200, `{"error":{"code":409,"message":"conflict"},"success":false}`,
			want{shape: shapeRPC, status: 409, msg: "conflict", exists: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAPIError(tc.status, nil, []byte(tc.body), testKey, "M", "ROUTE", true)
			w := tc.want
			if e.shape != w.shape || e.StatusCode != w.status || e.Message != w.msg || e.Detail != w.detail || e.Slug != w.slug {
				t.Errorf("got shape=%d status=%d msg=%q detail=%q slug=%q", e.shape, e.StatusCode, e.Message, e.Detail, e.Slug)
			}
			var err error = e
			got := [5]bool{IsNotFound(err), IsAlreadyExists(err), IsInvalid(err), IsRetryable(err), IsAmbiguous(err)}
			exp := [5]bool{w.notFound, w.exists, w.invalid, w.retry, w.ambig}
			if got != exp {
				t.Errorf("notFound/exists/invalid/retryable/ambiguous = %v, want %v", got, exp)
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	e := newAPIError(400, nil, mustRead("rpc_error_validation.json"), "", "CreateProject", "RPC project.create", true)
	if got, want := e.Error(), "talis: RPC project.create: 400 project name is required"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = newAPIError(500, nil, mustRead("rpc_error_duplicate_pg.json"), "", "CreateProject", "RPC project.create", true)
	if !strings.HasPrefix(e.Error(), "talis: RPC project.create: 500 Failed to create project (ERROR: duplicate key") {
		t.Errorf("got %q", e.Error())
	}
	long := strings.Repeat("é", 3000)
	e = newAPIError(502, nil, []byte(long), "", "M", "R", false)
	if len(e.Message) > maxErrorText+len("…") || !strings.HasSuffix(e.Message, "…") {
		t.Errorf("long body not truncated: %d bytes", len(e.Message))
	}
}

func TestUnauthorized(t *testing.T) {
	for _, status := range []int{401, 403} {
		e := newAPIError(status, nil, []byte(`{"message":"Invalid authentication credentials"}`), "", "M", "R", false)
		if !IsUnauthorized(e) || IsRetryable(e) || IsAmbiguous(e) || IsNotFound(e) {
			t.Errorf("%d misclassified", status)
		}
	}
	if IsUnauthorized(errors.New("x")) {
		t.Error("foreign error is not unauthorized")
	}
}

func TestIsAmbiguousOtherErrors(t *testing.T) {
	cases := map[string]struct {
		err  error
		want bool
	}{
		"nil":               {nil, false},
		"foreign":           {errors.New("mystery"), true},
		"invalid arg":       {invalidArgf("x"), false},
		"not sent":          {&requestError{route: "R", err: errors.New("dial"), phase: notSent}, false},
		"maybe sent":        {&requestError{route: "R", err: errors.New("EOF"), phase: maybeSent}, true},
		"responded":         {&requestError{route: "R", err: errors.New("bad json"), phase: responded, decode: true}, true},
		"wrapped":           {fmt.Errorf("ctx: %w", &requestError{route: "R", err: errors.New("dial"), phase: notSent}), false},
		"owner mismatch":    {newAPIError(500, nil, []byte(`{"slug":"server-error","error":"instance owner_id does not match project owner_id","data":null}`), "", "", "", false), false},
		"instances insert":  {newAPIError(500, nil, []byte(`{"slug":"server-error","error":"failed to add instances to database: x","data":null}`), "", "", "", false), true},
		"504":               {newAPIError(504, nil, []byte(`{"message":"The upstream server is timing out"}`), "", "", "", false), true},
		"slug error at 2xx": {newAPIError(201, nil, []byte(`{"slug":"server-error","error":"x","data":null}`), "", "", "", false), true},
	}
	for name, tc := range cases {
		if got := IsAmbiguous(tc.err); got != tc.want {
			t.Errorf("%s: IsAmbiguous = %v, want %v", name, got, tc.want)
		}
	}
}

func TestRetryableTransportErrors(t *testing.T) {
	if IsRetryable(&requestError{err: context.Canceled}) {
		t.Error("caller cancellation is not retryable")
	}
	if !IsRetryable(&requestError{err: context.DeadlineExceeded, phase: maybeSent}) {
		t.Error("timeout is retryable")
	}
	if IsRetryable(nil) || IsRetryable(errors.New("x")) {
		t.Error("nil/foreign errors are not retryable")
	}
}

// echoHeaders is a misbehaving server that reflects request headers.
func echoHeaders(status int, asJSON bool) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		var b strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&b, "%s: %s; ", k, strings.Join(v, ","))
		}
		w.WriteHeader(status)
		if asJSON {
			fmt.Fprintf(w, `{"error":{"code":%d,"message":"bad headers","data":%q},"success":false}`, status, b.String())
			return
		}
		_, _ = io.WriteString(w, b.String())
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		srv := newRecorder(t, echoHeaders(500, asJSON))
		var observed []error
		c := newTestClient(t, srv.URL, func(o *Options) { o.Observer = func(ci CallInfo) { observed = append(observed, ci.Err) } })
		_, err := c.GetProject(ctxT(t), ProjectGetParams{Name: "p", OwnerID: 1})
		if err == nil {
			t.Fatal("want error")
		}
		if !strings.Contains(err.Error(), "REDACTED") {
			t.Errorf("echo not recognised (json=%v): %v", asJSON, err)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
			if strings.Contains(s, testKey) {
				t.Fatalf("API key leaked (json=%v): %s", asJSON, s)
			}
		}
		for _, oe := range observed {
			if strings.Contains(oe.Error(), testKey) {
				t.Fatalf("API key leaked to observer: %v", oe)
			}
		}
	}
}

func TestAPIKeyNeverPrinted(t *testing.T) {
	o := Options{BaseURL: "http://h", APIKey: testKey, Timeout: time.Second}
	c, err := NewClient(&o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", o, o, o, o),
		fmt.Sprintf("%v %+v %#v %s", &o, &o, &o, &o),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprint(o.LogValue()),
	} {
		if strings.Contains(s, testKey) {
			t.Fatalf("API key printed: %s", s)
		}
	}
}
