package contract

import (
	"slices"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestProjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx

	// project.create with every param.
	const cfg = `{"resources":{"cpu":2}}`
	var p talis.Project
	x := e.one(t, func() {
		p = must(e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "alpha", Description: "first", Config: cfg, OwnerID: 7}))(t)
	})
	params := e.checkRPC(t, x, "project.create")
	jsonIs(t, "name", params["name"], "alpha")
	jsonIs(t, "description", params["description"], "first")
	jsonIs(t, "config (a string)", params["config"], cfg)
	jsonIs(t, "owner_id", params["owner_id"], 7)
	if p.ID == 0 || p.Name != "alpha" || p.Description != "first" || p.Config != cfg || p.OwnerID != 7 ||
		p.CreatedAt.IsZero() || !p.ModelCreatedAt.IsZero() || p.DeletedAt != nil || p.Tasks != nil {
		t.Errorf("created project = %+v", p)
	}
	// Optional params are omitted when empty.
	x = e.one(t, func() { e.mkProject(t, "beta", 7) })
	if got := keysOf(e.checkRPC(t, x, "project.create")); !slices.Equal(got, []string{"name", "owner_id"}) {
		t.Errorf("minimal project.create params %v", got)
	}

	// project.get, decoded like the emulator's own type.
	var g talis.Project
	x = e.one(t, func() { g = must(e.c.GetProject(ctx, talis.ProjectGetParams{Name: "alpha", OwnerID: 7}))(t) })
	params = e.checkRPC(t, x, "project.get")
	jsonIs(t, "owner_id", params["owner_id"], 7)
	var rawP emulator.Project
	e.rawRPC(t, "project.get", map[string]any{"name": "alpha", "owner_id": 7}, &rawP)
	sameProject(t, &g, rawP, 7)
	_, err := e.c.GetProject(ctx, talis.ProjectGetParams{Name: "alpha", OwnerID: 8})
	if ae := wantNotFound(t, err, 404); ae.Message != "Project not found" {
		t.Errorf("project.get by another owner: %v", err)
	}

	// project.list
	var list []*talis.Project
	x = e.one(t, func() { list = must(e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7}))(t) })
	if got := keysOf(e.checkRPC(t, x, "project.list")); !slices.Equal(got, []string{"owner_id"}) {
		t.Errorf("project.list params %v (page 0 must be omitted)", got)
	}
	var rawList emulator.ListResponse[emulator.Project]
	e.rawRPC(t, "project.list", map[string]any{"owner_id": 7}, &rawList)
	if len(list) != 2 || len(rawList.Rows) != 2 {
		t.Fatalf("project.list: %d, emulator %d, want 2", len(list), len(rawList.Rows))
	}
	for i := range list {
		sameProject(t, list[i], rawList.Rows[i], 7)
	}
	x = e.one(t, func() { list = must(e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7, Page: 2}))(t) })
	jsonIs(t, "page", e.checkRPC(t, x, "project.list")["page"], 2)
	if len(list) != 0 {
		t.Errorf("page 2 has %d projects", len(list))
	}
	if l := must(e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 8}))(t); len(l) != 0 {
		t.Errorf("owner 8 sees %d projects", len(l))
	}

	// project.listInstances
	created := must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("alpha", 7, "do-mock", "a", 2, "x")}))(t)
	var pi []*talis.Instance
	x = e.one(t, func() {
		pi = must(e.c.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: "alpha", OwnerID: 7}))(t)
	})
	e.checkRPC(t, x, "project.listInstances")
	var rawPI emulator.ListResponse[emulator.Instance]
	e.rawRPC(t, "project.listInstances", map[string]any{"name": "alpha", "owner_id": 7}, &rawPI)
	if !slices.Equal(sortedIDs(pi), sortedIDs(created)) || len(rawPI.Rows) != len(pi) {
		t.Fatalf("project.listInstances = %v, want %v", sortedIDs(pi), sortedIDs(created))
	}
	for i := range pi {
		sameInstance(t, pi[i], rawPI.Rows[i])
	}
	x = e.one(t, func() {
		pi = must(e.c.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: "alpha", OwnerID: 7, Page: 2}))(t)
	})
	jsonIs(t, "page", e.checkRPC(t, x, "project.listInstances")["page"], 2)
	if len(pi) != 0 {
		t.Errorf("listInstances page 2 = %d rows", len(pi))
	}
	_, err = e.c.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: "nosuch", OwnerID: 7})
	if ae := wantNotFound(t, err, 500); ae.Message != "Failed to list project instances" {
		t.Errorf("listInstances of an unknown project: %v", err)
	}

	// project.delete: soft, idempotent, name stays reserved, instances stay.
	x = e.one(t, func() { noErr(t, e.c.DeleteProject(ctx, talis.ProjectDeleteParams{Name: "alpha", OwnerID: 7})) })
	e.checkRPC(t, x, "project.delete")
	_, err = e.c.GetProject(ctx, talis.ProjectGetParams{Name: "alpha", OwnerID: 7})
	wantNotFound(t, err, 404)
	noErr(t, e.c.DeleteProject(ctx, talis.ProjectDeleteParams{Name: "alpha", OwnerID: 7}))
	noErr(t, e.c.DeleteProject(ctx, talis.ProjectDeleteParams{Name: "never-existed", OwnerID: 7}))
	if l := must(e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7}))(t); len(l) != 1 || l[0].Name != "beta" {
		t.Errorf("after delete project.list = %v", l)
	}
	for _, owner := range []uint{7, 8} {
		_, err = e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "alpha", OwnerID: owner})
		wantAlreadyExists(t, err, 500) // PostgreSQL: 500 "Failed to create project"
	}
	// A live name is global across owners too.
	_, err = e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "beta", OwnerID: 9})
	wantAlreadyExists(t, err, 500)
	if _, err := e.c.GetInstance(ctx, "1"); err != nil {
		t.Errorf("instances of a deleted project must remain: %v", err)
	}

	// Validation.
	_, err = e.c.CreateProject(ctx, talis.ProjectCreateParams{OwnerID: 7})
	wantInvalid(t, err, 400, "project name is required")
	_, err = e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "gamma"})
	wantInvalid(t, err, 400, "project owner_id is required")
	_, err = e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "gamma", OwnerID: 7, Config: "nope"})
	wantInvalid(t, err, 400, "invalid config JSON: invalid character 'o' in literal null (expecting 'u')")
	_, err = e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7, Page: -1})
	wantInvalid(t, err, 400, "page must be a positive number")
	_, err = e.c.GetProject(ctx, talis.ProjectGetParams{OwnerID: 7})
	wantInvalid(t, err, 400, "project name is required")
}

// TestDuplicatesSQLite covers the other database's duplicate errors: for
// projects a 400 that must read as "already exists", not as "invalid".
func TestDuplicatesSQLite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{DuplicateProjectStyle: "sqlite"}, nil)
	e.mkProject(t, "dup", 7)
	_, err := e.c.CreateProject(e.ctx, talis.ProjectCreateParams{Name: "dup", OwnerID: 7})
	wantAlreadyExists(t, err, 400)
	if ae := apiErr(t, err); ae.Message != "Project already exists" {
		t.Errorf("sqlite duplicate message %q", ae.Message)
	}
	noErr(t, e.c.DeleteProject(e.ctx, talis.ProjectDeleteParams{Name: "dup", OwnerID: 7}))
	_, err = e.c.CreateProject(e.ctx, talis.ProjectCreateParams{Name: "dup", OwnerID: 7})
	wantAlreadyExists(t, err, 400)

	u := must(e.c.CreateUser(e.ctx, talis.CreateUserParams{Username: "dup"}))(t)
	noErr(t, e.c.DeleteUser(e.ctx, talis.DeleteUserParams{ID: u.ID}))
	_, err = e.c.CreateUser(e.ctx, talis.CreateUserParams{Username: "dup"})
	wantAlreadyExists(t, err, 500) // UNIQUE constraint failed: users.username
	k := talis.SSHKeyCreateParams{Name: "dup", PublicKey: "ssh-ed25519 AAAA", OwnerID: 7}
	must(e.c.CreateSSHKey(e.ctx, k))(t)
	_, err = e.c.CreateSSHKey(e.ctx, k)
	wantAlreadyExists(t, err, 500)
}
