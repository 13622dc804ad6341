package contract

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	e.mkProject(t, "errs", 7)

	t.Run("GetInstance missing id is the server's 500, not retried", func(t *testing.T) {
		before := e.requests("GET /api/v1/instances/:id")
		x := e.one(t, func() {
			_, err := e.c.GetInstance(ctx, "424242")
			ae := wantNotFound(t, err, 500)
			if ae.Message != "failed to get instance: failed to get instance: record not found" {
				t.Errorf("message %q", ae.Message)
			}
		})
		if x.Status != 500 || e.requests("GET /api/v1/instances/:id")-before != 1 {
			t.Errorf("status %d, emulator saw %d requests", x.Status, e.requests("GET /api/v1/instances/:id")-before)
		}
	})

	t.Run("405 carries Allow, as upstream's router", func(t *testing.T) {
		for _, tc := range [][3]string{{http.MethodPut, "/api/v1/instances", "GET, HEAD, POST, DELETE"}, {http.MethodGet, "/api/v1", "POST"}} {
			req, _ := http.NewRequestWithContext(ctx, tc[0], e.url+tc[1], nil)
			resp, err := http.DefaultClient.Do(req)
			noErr(t, err)
			_ = resp.Body.Close()
			if got := resp.Header.Values("Allow"); resp.StatusCode != http.StatusMethodNotAllowed || len(got) != 1 || got[0] != tc[2] {
				t.Errorf("%s %s: %d, Allow %q, want %q", tc[0], tc[1], resp.StatusCode, got, tc[2])
			}
		}
	})

	t.Run("GetInstance bad ids", func(t *testing.T) {
		_, err := e.c.GetInstance(ctx, "abc")
		wantInvalid(t, err, 400, `instance id is required: failed to convert: strconv.Atoi: parsing "abc": invalid syntax`)
		if ae := apiErr(t, err); ae.Slug != talis.SlugInvalidInput {
			t.Errorf("slug %q", ae.Slug)
		}
		// An id is one path segment: an escaped "/" cannot reach another
		// route (the server routes on the path as sent).
		for id, esc := range map[string]string{"1/tasks": "1%2Ftasks", "../admin/instances": "..%2Fadmin%2Finstances"} {
			x := e.one(t, func() {
				_, err = e.c.GetInstance(ctx, id)
				wantInvalid(t, err, 400, `instance id is required: failed to convert: strconv.Atoi: parsing "`+esc+`": invalid syntax`)
			})
			if x.Path != "/api/v1/instances/"+esc {
				t.Errorf("id %q sent as %s", id, x.Path)
			}
		}
		for _, id := range []string{"0", "-3"} {
			_, err = e.c.GetInstance(ctx, id)
			wantInvalid(t, err, 400, "instance id must be positive")
		}
		if ex := e.capture(func() {
			if _, err := e.c.GetInstance(ctx, ""); !talis.IsInvalid(err) {
				t.Errorf("empty id: %v", err)
			}
		}); len(ex) != 0 {
			t.Errorf("empty id reached the wire: %v", summarize(ex))
		}
	})

	t.Run("CreateInstance unknown project", func(t *testing.T) {
		for _, req := range []talis.InstanceRequest{
			instReq("nosuch", 7, "do-mock", "", 1),
			instReq("errs", 8, "do-mock", "", 1), // exists, other owner
		} {
			x := e.one(t, func() {
				_, err := e.c.CreateInstance(ctx, []talis.InstanceRequest{req})
				ae := wantNotFound(t, err, 500)
				if ae.Message != "failed to get project: record not found" || ae.Slug != talis.SlugServerError {
					t.Errorf("got %q slug %q", ae.Message, ae.Slug)
				}
			})
			if x.Status != 500 {
				t.Errorf("status %d", x.Status)
			}
		}
		if n := len(e.srv.Ledger()); n != 0 {
			t.Errorf("ledger holds %d instances", n)
		}
	})

	t.Run("CreateInstance validation", func(t *testing.T) {
		base := instReq("errs", 7, "do-mock", "v", 1)
		mod := func(f func(*talis.InstanceRequest)) talis.InstanceRequest { r := base; f(&r); return r }
		for _, tc := range []struct {
			req talis.InstanceRequest
			msg string
		}{
			{mod(func(r *talis.InstanceRequest) { r.ProjectName = "" }), "project_name is required"},
			{mod(func(r *talis.InstanceRequest) { r.OwnerID = 0 }), "owner_id is required"},
			{mod(func(r *talis.InstanceRequest) { r.Provider = "" }), "provider is required"},
			{mod(func(r *talis.InstanceRequest) { r.Provider = "nope" }), "unsupported provider: nope"},
			{mod(func(r *talis.InstanceRequest) { r.Region = "" }), "region is required"},
			{mod(func(r *talis.InstanceRequest) { r.Size = "" }), "either size, or both memory and cpu, must be provided"},
			{mod(func(r *talis.InstanceRequest) { r.Image = "" }), "image is required"},
			{mod(func(r *talis.InstanceRequest) { r.NumberOfInstances = 0 }), "number_of_instances must be greater than 0"},
			{mod(func(r *talis.InstanceRequest) { r.Volumes = nil }), "at least one volume configuration is required"},
			{mod(func(r *talis.InstanceRequest) {
				r.Volumes = []talis.VolumeConfig{{Name: "d", SizeGB: 1, Region: "ams3"}}
			}),
				"invalid volume configuration at index 0: volume region ams3 does not match instance region nyc1"},
			{mod(func(r *talis.InstanceRequest) { r.Provider, r.Size = "ximera", "" }), "either size, or both memory and cpu, must be provided"},
			{mod(func(r *talis.InstanceRequest) { r.Provider = "ximera" }), "memory is required and must be > 0 for Ximera"},
			{mod(func(r *talis.InstanceRequest) { r.PayloadPath, r.Provision = "relative/p.sh", true }), "payload_path must be an absolute path"},
			{mod(func(r *talis.InstanceRequest) { r.ExecutePayload = true }), "payload_path is required when execute_payload is true"},
		} {
			_, err := e.c.CreateInstance(ctx, []talis.InstanceRequest{tc.req})
			wantInvalid(t, err, 400, tc.msg)
		}
		// A valid element does not save an invalid one: all or nothing.
		_, err := e.c.CreateInstance(ctx, []talis.InstanceRequest{base, mod(func(r *talis.InstanceRequest) { r.Image = "" })})
		wantInvalid(t, err, 400, "image is required")
		if n := len(e.srv.Ledger()); n != 0 {
			t.Errorf("ledger holds %d instances after rejected creates", n)
		}
		if ex := e.capture(func() {
			if _, err := e.c.CreateInstance(ctx, nil); !talis.IsInvalid(err) || talis.IsAmbiguous(err) {
				t.Errorf("empty create: %v", err)
			}
		}); len(ex) != 0 {
			t.Errorf("empty create reached the wire")
		}
	})

	t.Run("list and delete errors", func(t *testing.T) {
		bogus := talis.InstanceStatus("bogus")
		_, err := e.c.GetInstances(ctx, &talis.ListOptions{InstanceStatus: &bogus})
		wantInvalid(t, err, 400, "invalid instance status: invalid instance status: bogus")

		before := e.requests("DELETE /api/v1/instances")
		err = e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: 7, ProjectName: "nosuch", InstanceIDs: []uint{1}})
		if ae := wantNotFound(t, err, 500); ae.Message != "failed to terminate instances: failed to get project 'nosuch': record not found" {
			t.Errorf("message %q", ae.Message)
		}
		if n := e.requests("DELETE /api/v1/instances") - before; n != 1 {
			t.Errorf("not-found delete sent %d times", n)
		}
		err = e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: 7, ProjectName: "errs"})
		wantInvalid(t, err, 400, "project name and instance IDs are required")
		if ex := e.capture(func() {
			err := e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{ProjectName: "errs", InstanceIDs: []uint{1}})
			if !talis.IsInvalid(err) {
				t.Errorf("owner 0 delete: %v", err)
			}
		}); len(ex) != 0 {
			t.Errorf("owner 0 delete reached the wire")
		}
	})

	t.Run("unknown route is not a missing resource", func(t *testing.T) {
		c := e.newClient(func(o *talis.Options) { o.PathPrefix = "/kong" })
		_, err := c.HealthCheck(ctx)
		ae := apiErr(t, err)
		if ae.StatusCode != 404 || ae.Message != "Cannot GET /kong/health" || talis.IsNotFound(err) || talis.IsRetryable(err) {
			t.Errorf("wrong prefix: %v IsNotFound=%v", err, talis.IsNotFound(err))
		}
		_, err = c.GetInstance(ctx, "1")
		if talis.IsNotFound(err) {
			t.Errorf("GetInstance via a wrong prefix must not read as not found: %v", err)
		}
	})
}

func TestGatewayAuth(t *testing.T) {
	t.Parallel()
	const key = "contract-SECRET-key-0123456789"
	e := newEnv(t, emulator.Config{APIKeys: []string{key}}, func(o *talis.Options) { o.APIKey = key })
	ctx := e.ctx

	// The right key, as the apikey header, on every route.
	x := e.one(t, func() { must(e.c.HealthCheck(ctx))(t) })
	e.checkREST(t, x, "GET /health", "/health", nil)
	x = e.one(t, func() { e.mkProject(t, "auth", 7) })
	e.checkRPC(t, x, "project.create")
	x = e.one(t, func() {
		must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("auth", 7, "do-mock", "", 1)}))(t)
	})
	e.checkREST(t, x, "POST /api/v1/instances", "/api/v1/instances", nil)
	// A server error while a key is set does not leak it either.
	_, err := e.c.GetInstance(ctx, "999")
	if strings.Contains(err.Error(), key) {
		t.Errorf("key leaked: %v", err)
	}

	calls := map[string]func(*talis.APIClient) error{
		"HealthCheck":  func(c *talis.APIClient) error { _, err := c.HealthCheck(ctx); return err },
		"GetInstances": func(c *talis.APIClient) error { _, err := c.GetInstances(ctx, nil); return err },
		"ListProjects": func(c *talis.APIClient) error {
			_, err := c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7})
			return err
		},
		"CreateInstance": func(c *talis.APIClient) error {
			_, err := c.CreateInstance(ctx, []talis.InstanceRequest{instReq("auth", 7, "do-mock", "", 1)})
			return err
		},
	}
	const wrong = "wrong-SENSITIVE-key-42"
	for _, tc := range []struct {
		name, key, msg string
	}{
		{"no key", "", "No API key found in request"},
		{"wrong key", wrong, "Invalid authentication credentials"},
	} {
		c := e.newClient(func(o *talis.Options) { o.APIKey = tc.key })
		for name, call := range calls {
			var err error
			ex := e.capture(func() { err = call(c) })
			ae := apiErr(t, err)
			if !talis.IsUnauthorized(err) || ae.StatusCode != 401 || ae.Message != tc.msg || talis.IsRetryable(err) ||
				talis.IsAmbiguous(err) || talis.IsNotFound(err) || talis.IsInvalid(err) {
				t.Errorf("%s %s: %v", tc.name, name, err)
			}
			if len(ex) != 1 {
				t.Errorf("%s %s: a 401 was sent %d times", tc.name, name, len(ex))
			}
			if got := ex[0].Header.Get("apikey"); got != tc.key {
				t.Errorf("%s %s: apikey header %q", tc.name, name, got)
			}
			if tc.key != "" {
				for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprint(c), fmt.Sprintf("%#v", c)} {
					if strings.Contains(s, tc.key) {
						t.Errorf("%s %s: key leaked in %q", tc.name, name, s)
					}
				}
			}
		}
		if n := len(e.srv.Ledger()); n != 1 {
			t.Errorf("unauthorized creates reached the server: %d instances", n)
		}
		// SetAPIKey fixes the client in place.
		c.SetAPIKey(key)
		must(c.HealthCheck(ctx))(t)
	}

	// Key rotation on the gateway.
	e.srv.SetAPIKeys("rotated-key")
	_, err = e.c.HealthCheck(ctx)
	if !talis.IsUnauthorized(err) || strings.Contains(err.Error(), key) {
		t.Errorf("old key after rotation: %v", err)
	}
	e.c.SetAPIKey("rotated-key")
	must(e.c.HealthCheck(ctx))(t)
	e.c.SetAPIKey("")
	_, err = e.c.HealthCheck(ctx)
	if !talis.IsUnauthorized(err) {
		t.Errorf("SetAPIKey(\"\"): %v", err)
	}
}
