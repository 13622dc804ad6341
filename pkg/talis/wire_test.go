package talis

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// wireCase pins down what one client method puts on the wire.
type wireCase struct {
	name      string
	call      func(context.Context, *APIClient) (any, error)
	status    int
	reply     string
	method    string
	path      string
	query     map[string][]string // nil means "no query"
	body      string              // "" means "no body"
	check     func(*testing.T, any, error)
	wantError bool
}

func okNoErr(t *testing.T, _ any, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func rpcOK(data string) string { return `{"data":` + data + `,"success":true}` }

var instanceJSON = `{"ID":7,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"2026-11-27T00:25:10Z","DeletedAt":null,"owner_id":1,"project_id":3,"name":"n","provider_id":"do","provider_instance_id":0,"public_ip":"","region":"nyc1","size":"s","image":"","tags":null,"status":"ready","volume_ids":[],"volume_details":[],"created_at":"2026-11-27T00:22:03Z","payload_status":"none"}`

func ptrStatus(s InstanceStatus) *InstanceStatus { return &s }

func wireCases() []wireCase {
	list := `{"rows":[` + instanceJSON + `],"pagination":{"total":1,"page":1,"limit":100,"offset":0}}`
	return []wireCase{
		{name: "HealthCheck", call: func(ctx context.Context, c *APIClient) (any, error) { return c.HealthCheck(ctx) },
			reply: `{"status":"healthy"}`, method: "GET", path: "/health",
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if v.(map[string]string)["status"] != "healthy" {
					t.Errorf("got %v", v)
				}
			}},
		{name: "AdminGetInstances", call: func(ctx context.Context, c *APIClient) (any, error) { return c.AdminGetInstances(ctx) },
			reply: list, method: "GET", path: "/api/v1/admin/instances", query: map[string][]string{"limit": {"0"}},
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if rows := v.([]*Instance); len(rows) != 1 || rows[0].ID != 7 {
					t.Errorf("got %+v", rows)
				}
			}},
		{name: "AdminGetInstancesMetadata", call: func(ctx context.Context, c *APIClient) (any, error) { return c.AdminGetInstancesMetadata(ctx) },
			reply: list, method: "GET", path: "/api/v1/admin/instances/all-metadata", query: map[string][]string{"limit": {"0"}}, check: okNoErr},
		{name: "GetInstances/nil", call: func(ctx context.Context, c *APIClient) (any, error) { return c.GetInstances(ctx, nil) },
			reply: list, method: "GET", path: "/api/v1/instances", check: okNoErr},
		{name: "GetInstances/all", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.GetInstances(ctx, &ListOptions{Limit: 10, Offset: 20, IncludeDeleted: true, StatusFilter: StatusFilterEqual, InstanceStatus: ptrStatus(InstanceStatusReady)})
		}, reply: list, method: "GET", path: "/api/v1/instances",
			query: map[string][]string{"limit": {"10"}, "offset": {"20"}, "include_deleted": {"true"}, "status": {"ready"}}, check: okNoErr},
		{name: "GetInstances/nolimit", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.GetInstances(ctx, &ListOptions{Limit: NoLimit})
		}, reply: list, method: "GET", path: "/api/v1/instances", query: map[string][]string{"limit": {"0"}}, check: okNoErr},
		{name: "GetInstancesMetadata", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.GetInstancesMetadata(ctx, &ListOptions{Offset: 5})
		}, reply: list, method: "GET", path: "/api/v1/instances/all-metadata", query: map[string][]string{"offset": {"5"}}, check: okNoErr},
		{name: "GetInstancesPublicIPs", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.GetInstancesPublicIPs(ctx, &ListOptions{IncludeDeleted: true})
		}, reply: `{"public_ips":[{"public_ip":"1.2.3.4"}],"pagination":{"total":1,"page":1,"limit":100,"offset":0}}`,
			method: "GET", path: "/api/v1/instances/public-ips", query: map[string][]string{"include_deleted": {"true"}},
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if r := v.(PublicIPsResponse); len(r.PublicIPs) != 1 || r.PublicIPs[0].PublicIP != "1.2.3.4" {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "GetInstance", call: func(ctx context.Context, c *APIClient) (any, error) { return c.GetInstance(ctx, "7") },
			reply: instanceJSON, method: "GET", path: "/api/v1/instances/7",
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if in := v.(Instance); in.ID != 7 || in.Status != InstanceStatusReady {
					t.Errorf("got %+v", in)
				}
			}},
		{name: "CreateInstance", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.CreateInstance(ctx, []InstanceRequest{{OwnerID: 1, Provider: "do-mock", Region: "nyc1", Size: "s",
				Image: "img", Tags: []string{"a"}, ProjectName: "p", Name: "web", NumberOfInstances: 2,
				Volumes: []VolumeConfig{{Name: "data", SizeGB: 10}}, SSHKeyType: "ed25519"}})
		}, status: 201, reply: `{"slug":"success","error":"","data":[` + instanceJSON + `]}`,
			method: "POST", path: "/api/v1/instances",
			body: `[{"owner_id":1,"provider":"do-mock","region":"nyc1","size":"s","memory":0,"cpu":0,"image":"img","tags":["a"],
				"project_name":"p","name":"web","number_of_instances":2,"provision":false,
				"volumes":[{"name":"data","size_gb":10,"region":"","filesystem":"","mount_point":""}],"ssh_key_type":"ed25519"}]`,
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if rows := v.([]*Instance); len(rows) != 1 || rows[0].ID != 7 {
					t.Errorf("got %+v", rows)
				}
			}},
		{name: "DeleteInstances", call: func(ctx context.Context, c *APIClient) (any, error) {
			return nil, c.DeleteInstances(ctx, DeleteInstancesRequest{OwnerID: 1, ProjectName: "p", InstanceIDs: []uint{1, 2}})
		}, reply: `{"slug":"success","error":"","data":null}`, method: "DELETE", path: "/api/v1/instances",
			body: `{"owner_id":1,"project_name":"p","instance_ids":[1,2]}`, check: okNoErr},
		{name: "ListTasksByInstanceID", call: func(ctx context.Context, c *APIClient) (any, error) {
			return c.ListTasksByInstanceID(ctx, 1, 5, string(TaskActionCreateInstances), &ListOptions{Limit: 2, Offset: 2, IncludeDeleted: true})
		}, reply: string(mustRead("task_list_slug.json")), method: "GET", path: "/api/v1/instances/5/tasks",
			query: map[string][]string{"owner_id": {"1"}, "action": {"create_instances"}, "limit": {"2"}, "offset": {"2"}},
			check: func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if ts := v.([]*Task); len(ts) != 1 || ts[0].ID != 9 || ts[0].OwnerID != AdminOwnerID {
					t.Errorf("got %+v", ts)
				}
			}},
		rpcCase("CreateProject", `{"method":"project.create","params":{"name":"p","config":"{}","owner_id":3}}`,
			rpcOK(string(mustRead("project.json"))), func(ctx context.Context, c *APIClient) (any, error) {
				return c.CreateProject(ctx, ProjectCreateParams{Name: "p", Config: "{}", OwnerID: 3})
			}, func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if p := v.(Project); p.Name != "proj-a" || p.OwnerID != 3 {
					t.Errorf("got %+v", p)
				}
			}),
		rpcCase("GetProject", `{"method":"project.get","params":{"name":"p","owner_id":3}}`,
			rpcOK(string(mustRead("project.json"))), func(ctx context.Context, c *APIClient) (any, error) {
				return c.GetProject(ctx, ProjectGetParams{Name: "p", OwnerID: 3})
			}, okNoErr),
		rpcCase("ListProjects", `{"method":"project.list","params":{"page":2,"owner_id":3}}`,
			string(mustRead("rpc_project_list.json")), func(ctx context.Context, c *APIClient) (any, error) {
				return c.ListProjects(ctx, ProjectListParams{Page: 2, OwnerID: 3})
			}, func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if ps := v.([]*Project); len(ps) != 1 || ps[0].OwnerID != 3 {
					t.Errorf("got %+v", ps)
				}
			}),
		rpcCase("DeleteProject", `{"method":"project.delete","params":{"name":"p","owner_id":3}}`,
			`{"success":true}`, func(ctx context.Context, c *APIClient) (any, error) {
				return nil, c.DeleteProject(ctx, ProjectDeleteParams{Name: "p", OwnerID: 3})
			}, okNoErr),
		rpcCase("ListProjectInstances", `{"method":"project.listInstances","params":{"name":"p","owner_id":3}}`,
			rpcOK(`{"rows":[`+instanceJSON+`],"pagination":{"total":1,"page":0,"limit":50,"offset":0}}`),
			func(ctx context.Context, c *APIClient) (any, error) {
				return c.ListProjectInstances(ctx, ProjectListInstancesParams{Name: "p", OwnerID: 3})
			}, okNoErr),
		rpcCase("GetTask", `{"method":"task.get","params":{"task_id":9,"owner_id":4294967295}}`,
			rpcOK(string(mustRead("task.json"))), func(ctx context.Context, c *APIClient) (any, error) {
				return c.GetTask(ctx, TaskGetParams{TaskID: 9, OwnerID: AdminOwnerID})
			}, okNoErr),
		rpcCase("ListTasks", `{"method":"task.list","params":{"projectName":"p","owner_id":1,"page":1}}`,
			rpcOK(`{"rows":[`+string(mustRead("task.json"))+`],"pagination":{"total":1,"page":1,"limit":50,"offset":0}}`),
			func(ctx context.Context, c *APIClient) (any, error) {
				return c.ListTasks(ctx, TaskListParams{ProjectName: "p", OwnerID: 1, Page: 1})
			}, okNoErr),
		rpcCase("TerminateTask", `{"method":"task.terminate","params":{"task_id":9,"owner_id":1}}`,
			`{"success":true}`, func(ctx context.Context, c *APIClient) (any, error) {
				return nil, c.TerminateTask(ctx, TaskTerminateParams{TaskID: 9, OwnerID: 1})
			}, okNoErr),
		{name: "UpdateTaskStatus", call: func(ctx context.Context, c *APIClient) (any, error) {
			return nil, c.UpdateTaskStatus(ctx, TaskUpdateStatusParams{TaskID: 9, Status: TaskStatusFailed, OwnerID: 1})
		}, status: 400, reply: string(mustRead("rpc_error_unknown_task_method.json")), method: "POST", path: "/api/v1",
			body: `{"method":"task.updateStatus","params":{"task_id":9,"status":"failed","owner_id":1}}`,
			check: func(t *testing.T, _ any, err error) {
				if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) || IsInvalid(err) || IsRetryable(err) {
					t.Errorf("want unsupported error, got %v", err)
				}
			}},
		rpcCase("GetUserByID", `{"method":"user.get.id","params":{"id":1}}`,
			rpcOK(`{"ID":1,"username":"alice","role":1,"created_at":"","updated_at":""}`), func(ctx context.Context, c *APIClient) (any, error) {
				return c.GetUserByID(ctx, UserGetByIDParams{ID: 1})
			}, okNoErr),
		rpcCase("GetUsers", `{"method":"user.get","params":{"username":"alice"}}`,
			string(mustRead("rpc_user_single.json")), func(ctx context.Context, c *APIClient) (any, error) {
				return c.GetUsers(ctx, UserGetParams{Username: "alice"})
			}, okNoErr),
		rpcCase("CreateUser", `{"method":"user.create","params":{"username":"u","email":"u@x.io","role":1,"public_ssh_key":""}}`,
			`{"data":{"id":5},"success":true}`, func(ctx context.Context, c *APIClient) (any, error) {
				return c.CreateUser(ctx, CreateUserParams{Username: "u", Email: "u@x.io", Role: UserRoleAdmin})
			}, func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if v.(CreateUserResponse).ID != 5 {
					t.Errorf("got %+v", v)
				}
			}),
		rpcCase("DeleteUser", `{"method":"user.delete","params":{"id":5}}`,
			`{"success":true}`, func(ctx context.Context, c *APIClient) (any, error) {
				return nil, c.DeleteUser(ctx, DeleteUserParams{ID: 5})
			}, okNoErr),
		rpcCase("CreateSSHKey", `{"method":"sshkey.create","params":{"name":"k","public_key":"ssh-ed25519 AAA","owner_id":7}}`,
			rpcOK(`{"ID":1,"CreatedAt":"2026-11-27T00:40:00Z","UpdatedAt":"2026-11-27T00:40:00Z","DeletedAt":null,"name":"k","public_key":"ssh-ed25519 AAA","owner_id":7}`),
			func(ctx context.Context, c *APIClient) (any, error) {
				return c.CreateSSHKey(ctx, SSHKeyCreateParams{Name: "k", PublicKey: "ssh-ed25519 AAA", OwnerID: 7})
			}, okNoErr),
		rpcCase("ListSSHKeys", `{"method":"sshkey.list","params":{"owner_id":7}}`,
			string(mustRead("rpc_sshkey_list.json")), func(ctx context.Context, c *APIClient) (any, error) {
				return c.ListSSHKeys(ctx, SSHKeyListParams{OwnerID: 7})
			}, func(t *testing.T, v any, err error) {
				okNoErr(t, v, err)
				if ks := v.([]SSHKey); len(ks) != 1 || ks[0].OwnerID != 7 {
					t.Errorf("got %+v", ks)
				}
			}),
		rpcCase("DeleteSSHKey", `{"method":"sshkey.delete","params":{"name":"k","owner_id":7}}`,
			`{"success":true}`, func(ctx context.Context, c *APIClient) (any, error) {
				return nil, c.DeleteSSHKey(ctx, SSHKeyDeleteParams{Name: "k", OwnerID: 7})
			}, okNoErr),
	}
}

func rpcCase(name, body, reply string, call func(context.Context, *APIClient) (any, error), check func(*testing.T, any, error)) wireCase {
	return wireCase{name: name, call: call, reply: reply, method: "POST", path: "/api/v1", body: body, check: check}
}

func mustRead(name string) []byte { return readTestdata(nilTB{}, name) }

// nilTB lets package-level tables read testdata; failures panic.
type nilTB struct{ testing.TB }

func (nilTB) Helper()               {}
func (nilTB) Fatalf(string, ...any) { panic("cannot read testdata") }

func TestWire(t *testing.T) {
	for _, tc := range wireCases() {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			srv := newRecorder(t, fixed(status, tc.reply))
			c := newTestClient(t, srv.URL)
			v, err := tc.call(ctxT(t), c)
			tc.check(t, v, err)

			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("want 1 request, got %d", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("got %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			wantQuery := tc.query
			if wantQuery == nil {
				wantQuery = map[string][]string{}
			}
			if !reflect.DeepEqual(map[string][]string(r.Query), wantQuery) {
				t.Errorf("query = %v, want %v", r.Query, wantQuery)
			}
			for h, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "Apikey": testKey} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			if r.Header.Get("User-Agent") == "" {
				t.Error("no User-Agent")
			}
			if tc.body == "" {
				if len(r.Body) != 0 {
					t.Errorf("unexpected body %s", r.Body)
				}
			} else {
				jsonEqual(t, r.Body, tc.body)
			}
		})
	}
}

func TestNoAPIKeyHeaderWhenUnset(t *testing.T) {
	srv := newRecorder(t, fixed(200, `{"status":"healthy"}`))
	c := newTestClient(t, srv.URL, func(o *Options) { o.APIKey = "" })
	if _, err := c.HealthCheck(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.requests()[0].Header["Apikey"]; ok {
		t.Error("apikey header sent although no key is set")
	}
	c.SetAPIKey("new")
	if _, err := c.HealthCheck(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[1].Header.Get("apikey"); got != "new" {
		t.Errorf("apikey = %q after SetAPIKey", got)
	}
}

func TestLocalValidation(t *testing.T) {
	srv := newRecorder(t, fixed(200, `{}`))
	c := newTestClient(t, srv.URL)
	ctx := ctxT(t)
	errs := map[string]error{}
	_, errs["GetInstance"] = c.GetInstance(ctx, "")
	_, errs["CreateInstance"] = c.CreateInstance(ctx, nil)
	errs["DeleteInstances"] = c.DeleteInstances(ctx, DeleteInstancesRequest{ProjectName: "p", InstanceIDs: []uint{1}})
	errs["DeleteSSHKey"] = c.DeleteSSHKey(ctx, SSHKeyDeleteParams{Name: "k"})
	_, errs["not_equal"] = c.GetInstances(ctx, &ListOptions{StatusFilter: StatusFilterNotEqual, InstanceStatus: ptrStatus(InstanceStatusReady)})
	for name, err := range errs {
		if !IsInvalid(err) || IsAmbiguous(err) || IsRetryable(err) {
			t.Errorf("%s: want local invalid-argument error, got %v", name, err)
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}

func TestGetInstanceEscapesID(t *testing.T) {
	srv := newRecorder(t, fixed(400, `{"slug":"invalid-input","error":"instance id is required","data":null}`))
	c := newTestClient(t, srv.URL)
	_, err := c.GetInstance(ctxT(t), "a/b?c")
	if !IsInvalid(err) {
		t.Fatalf("want invalid, got %v", err)
	}
	if p := srv.requests()[0].EscPath; p != "/api/v1/instances/a%2Fb%3Fc" {
		t.Errorf("escaped path = %q", p)
	}
	if q := srv.requests()[0].Query; len(q) != 0 {
		t.Errorf("id leaked into query: %v", q)
	}
}
