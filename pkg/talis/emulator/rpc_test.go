/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"strings"
	"testing"
)

func rpcRaw(t *testing.T, base, body string, hdr ...string) resp {
	t.Helper()
	return do(t, "POST", base+"/api/v1", body, hdr...)
}

func TestRPCEnvelope(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	expect(t, rpcRaw(t, base, `{"method":"project.list","params":{"owner_id":1},"id":5}`), 400,
		`{"error":{"code":400,"message":"Invalid request format","data":"json: cannot unmarshal number into Go struct field RPCRequest.id of type string"},"success":false}`)
	expect(t, rpcRaw(t, base, `{"id":"a1","method":5}`), 400,
		`{"error":{"code":400,"message":"Invalid request format","data":"json: cannot unmarshal number into Go struct field RPCRequest.method of type string"},"id":"a1","success":false}`)
	expect(t, rpcRaw(t, base, `[1]`), 400,
		`{"error":{"code":400,"message":"Invalid request format","data":"json: cannot unmarshal array into Go value of type handlers.RPCRequest"},"success":false}`)
	expect(t, rpcRaw(t, base, `{`), 400,
		`{"error":{"code":400,"message":"Invalid request format","data":"unexpected end of JSON input"},"success":false}`)
	expect(t, rpcRaw(t, base, `{"method":"x"}`, "Content-Type", ""), 400,
		`{"error":{"code":400,"message":"Invalid request format","data":"Unprocessable Entity"},"success":false}`)
	expect(t, rpcRaw(t, base, `{"params":{}}`), 400, `{"error":{"code":400,"message":"Method is required"},"success":false}`)
	expect(t, rpcRaw(t, base, `{"method":"project.nope","id":"z"}`), 400, `{"error":{"code":400,"message":"Unknown method"},"id":"z","success":false}`)
	expect(t, rpcRaw(t, base, `{"method":"task.updateStatus","params":{"task_id":1,"status":"completed","owner_id":1}}`), 400,
		`{"error":{"code":400,"message":"Unknown task method"},"success":false}`)
	expect(t, rpcRaw(t, base, `{"method":"project.create","params":"oops"}`), 400,
		`{"error":{"code":400,"message":"Invalid parameters","data":"json: cannot unmarshal string into Go value of type handlers.ProjectCreateParams"},"success":false}`)
	// Vendor JSON types and a jsonrpc member are accepted; id is echoed.
	expect(t, rpcRaw(t, base, `{"jsonrpc":"2.0","method":"project.create","params":{"name":"v","owner_id":1},"id":"q"}`, "Content-Type", "application/vnd.api+json; charset=utf-8"), 200,
		`{"data":{"ID":1,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"<T>","DeletedAt":null,"name":"v","description":"","config":"","tasks":null,"created_at":"<T>"},"id":"q","success":true}`)
}

func TestRPCProjects(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	expect(t, rpc(t, base, "project.create", map[string]any{"owner_id": 1}), 400, rpcErr(400, "project name is required", ""))
	expect(t, rpc(t, base, "project.create", map[string]any{"name": "a"}), 400, rpcErr(400, "project owner_id is required", ""))
	expect(t, rpc(t, base, "project.create", nil), 400, rpcErr(400, "project name is required", ""))
	expect(t, rpc(t, base, "project.create", map[string]any{"name": "a", "owner_id": 1, "config": "{x"}), 400,
		rpcErr(400, "invalid config JSON: invalid character 'x' looking for beginning of object key string", ""))
	expect(t, rpc(t, base, "project.create", map[string]any{"name": "a", "owner_id": 1, "config": map[string]any{}}), 400,
		rpcErr(400, "Invalid parameters", "json: cannot unmarshal object into Go struct field ProjectCreateParams.config of type string"))
	expect(t, rpc(t, base, "project.create", map[string]any{"Name": "a", "OWNER_ID": 1, "description": "d", "config": `{"resources":{"cpu":2}}`}), 200,
		`{"data":{"ID":1,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"<T>","DeletedAt":null,"name":"a","description":"d","config":"{\"resources\":{\"cpu\":2}}","tasks":null,"created_at":"<T>"},"success":true}`)
	dup := rpcErr(500, "Failed to create project", `ERROR: duplicate key value violates unique constraint "uni_projects_name" (SQLSTATE 23505)`)
	expect(t, rpc(t, base, "project.create", map[string]any{"name": "a", "owner_id": 2}), 500, dup)

	expect(t, rpc(t, base, "project.get", map[string]any{"name": "a", "owner_id": 2}), 404, rpcErr(404, "Project not found", "record not found"))
	if r := rpc(t, base, "project.get", map[string]any{"name": "a", "owner_id": 1}); r.status != 200 || !strings.Contains(r.body, `"name":"a"`) {
		t.Fatal(r.body)
	}
	expect(t, rpc(t, base, "project.list", map[string]any{"owner_id": 1, "page": -1}), 400, rpcErr(400, "page must be a positive number", ""))
	expect(t, rpc(t, base, "project.list", map[string]any{}), 400, rpcErr(400, "project owner_id is required", ""))
	if r := rpc(t, base, "project.list", map[string]any{"owner_id": 1}); !strings.HasSuffix(r.body, `],"pagination":{"total":1,"page":1,"limit":50,"offset":0}},"success":true}`) {
		t.Fatal(r.body)
	}
	expect(t, rpc(t, base, "project.list", map[string]any{"owner_id": 1, "page": 3}), 200,
		`{"data":{"rows":[],"pagination":{"total":0,"page":3,"limit":50,"offset":100}},"success":true}`)

	mkProject(t, base, admin, "adm")
	create(t, base, instReq(admin, "adm", "i", 2, ""))
	expect(t, rpc(t, base, "project.listInstances", map[string]any{"name": "nosuch", "owner_id": 1}), 500,
		rpcErr(500, "Failed to list project instances", "record not found"))
	expect(t, rpc(t, base, "project.listInstances", map[string]any{"name": "adm", "owner_id": 1, "page": -2}), 400, rpcErr(400, "page must be a positive number", ""))
	r := rpc(t, base, "project.listInstances", map[string]any{"name": "adm", "owner_id": admin})
	if strings.Count(r.body, `"provider_id"`) != 2 || !strings.HasSuffix(r.body, `"pagination":{"total":2,"page":0,"limit":50,"offset":0}},"success":true}`) {
		t.Fatal(r.body)
	}

	// Delete: success even on a miss; the name stays reserved.
	expect(t, rpc(t, base, "project.delete", map[string]any{"name": "zzz", "owner_id": 1}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "project.delete", map[string]any{"name": "a"}), 400, rpcErr(400, "project owner_id is required", ""))
	expect(t, rpc(t, base, "project.delete", map[string]any{"name": "a", "owner_id": 1}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "project.get", map[string]any{"name": "a", "owner_id": 1}), 404, rpcErr(404, "Project not found", "record not found"))
	expect(t, rpc(t, base, "project.create", map[string]any{"name": "a", "owner_id": 1}), 500, dup)

	_, base2 := start(t, Config{Delays: frozen, DuplicateProjectStyle: "sqlite"})
	mkProject(t, base2, 1, "s")
	expect(t, rpc(t, base2, "project.create", map[string]any{"name": "s", "owner_id": 1}), 400,
		rpcErr(400, "Project already exists", "UNIQUE constraint failed: projects.name"))
}

func TestRPCTasks(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "adm")
	mkProject(t, base, 3, "other")
	create(t, base, instReq(admin, "adm", "a", 2, ""))
	create(t, base, instReq(3, "other", "o", 1, ""))

	expect(t, rpc(t, base, "task.get", map[string]any{"owner_id": 1}), 400, rpcErr(400, "task_id is required and must be a positive number", ""))
	expect(t, rpc(t, base, "task.get", map[string]any{"task_id": 1}), 400, rpcErr(400, "task owner_id is required", ""))
	expect(t, rpc(t, base, "task.get", map[string]any{"task_id": 3, "owner_id": 3}), 404, rpcErr(404, "Task not found", "record not found"))
	r := rpc(t, base, "task.get", map[string]any{"task_id": 2, "owner_id": 1})
	if r.status != 200 || !strings.Contains(r.body, `"ID":2,`) || !strings.Contains(r.body, `"action":"create_instances","status":"pending"`) {
		t.Fatal(r.body)
	}
	expect(t, rpc(t, base, "task.list", map[string]any{"project_name": "adm", "owner_id": 1}), 400, rpcErr(400, "project name is required", ""))
	expect(t, rpc(t, base, "task.list", map[string]any{"projectName": "adm"}), 400, rpcErr(400, "task owner_id is required", ""))
	expect(t, rpc(t, base, "task.list", map[string]any{"projectName": "other", "owner_id": 3}), 500, rpcErr(500, "Failed to list tasks", "record not found"))
	r = rpc(t, base, "task.list", map[string]any{"projectName": "adm", "owner_id": 1, "page": 1})
	if strings.Count(r.body, `"action":"create_instances"`) != 2 || !strings.HasSuffix(r.body, `"pagination":{"total":2,"page":1,"limit":50,"offset":0}},"success":true}`) {
		t.Fatal(r.body)
	}
	// terminate: unconditional for admin tasks, silent no-op otherwise.
	expect(t, rpc(t, base, "task.terminate", map[string]any{"task_id": 1, "owner_id": 7}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "task.terminate", map[string]any{"task_id": 3, "owner_id": 3}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "task.terminate", map[string]any{"task_id": 999, "owner_id": 3}), 200, `{"success":true}`)
	if r := rpc(t, base, "task.get", map[string]any{"task_id": 1, "owner_id": 1}); !strings.Contains(r.body, `"status":"terminated"`) {
		t.Fatal(r.body)
	}
}

func TestRPCUsers(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	zero := `{"ID":0,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"0001-01-01T00:00:00Z","DeletedAt":null,"username":"","email":"","role":0,"public_ssh_key":"","created_at":"","updated_at":""}`
	expect(t, rpc(t, base, "user.get", nil), 200, `{"data":{"user":`+zero+`,"pagination":{"total":0,"page":1,"limit":0,"offset":0}},"success":true}`)
	expect(t, rpc(t, base, "user.create", map[string]any{"email": "a@b.c"}), 400, rpcErr(400, "username is required", ""))
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "u", "email": "nope"}), 400, rpcErr(400, "invalid user email format", ""))
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "u", "role": "admin"}), 400,
		rpcErr(400, "Invalid parameters", "json: cannot unmarshal string into Go struct field CreateUserParams.role of type models.UserRole"))
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "alice", "email": "Alice <a@example.com>", "role": 1, "public_ssh_key": "k"}), 200, `{"data":{"id":1},"success":true}`)
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "bob"}), 200, `{"data":{"id":2},"success":true}`)
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "alice"}), 500, rpcErr(500, "Failed to create user", "failed to create user\nusername already exists"))
	alice := `{"ID":1,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"0001-01-01T00:00:00Z","DeletedAt":null,"username":"alice","email":"Alice \u003ca@example.com\u003e","role":1,"public_ssh_key":"k","created_at":"","updated_at":""}`
	expect(t, rpc(t, base, "user.get", map[string]any{"username": "alice"}), 200, `{"data":{"user":`+alice+`},"success":true}`)
	expect(t, rpc(t, base, "user.get", map[string]any{"username": "zed"}), 404, rpcErr(404, "User not found with provided username", ""))
	r := rpc(t, base, "user.get", map[string]any{"page": -4})
	if !strings.HasPrefix(r.body, `{"data":{"user":`+zero+`,"users":[`+alice+`,{"ID":2,`) || !strings.HasSuffix(r.body, `"pagination":{"total":2,"page":1,"limit":0,"offset":0}},"success":true}`) {
		t.Fatal(r.body)
	}
	expect(t, rpc(t, base, "user.get", map[string]any{"page": 2}), 200, `{"data":{"user":`+zero+`,"pagination":{"total":0,"page":2,"limit":0,"offset":50}},"success":true}`)
	expect(t, rpc(t, base, "user.get.id", map[string]any{}), 400, rpcErr(400, "user id is required", ""))
	expect(t, rpc(t, base, "user.get.id", map[string]any{"id": 1}), 200, `{"data":`+alice+`,"success":true}`)
	expect(t, rpc(t, base, "user.get.id", map[string]any{"id": 9}), 404, rpcErr(404, "User not found with provided id", ""))
	expect(t, rpc(t, base, "user.delete", map[string]any{}), 400, rpcErr(400, "user id is required", ""))
	expect(t, rpc(t, base, "user.delete", map[string]any{"id": 1}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "user.delete", map[string]any{"id": 1}), 404, rpcErr(404, "User not found with provided id", ""))
	expect(t, rpc(t, base, "user.get.id", map[string]any{"id": 1}), 404, rpcErr(404, "User not found with provided id", ""))
	expect(t, rpc(t, base, "user.create", map[string]any{"username": "alice"}), 500,
		rpcErr(500, "Failed to create user", "failed to create user\n"+`ERROR: duplicate key value violates unique constraint "uni_users_username" (SQLSTATE 23505)`))
}

func TestRPCSSHKeys(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	key := "ssh-ed25519 AAAAC3Nza test"
	expect(t, rpc(t, base, "sshkey.list", nil), 200, `{"data":[],"success":true}`)
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"public_key": key, "owner_id": 1}), 400, rpcErr(400, "Name is required", ""))
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "owner_id": 1}), 400, rpcErr(400, "Public key is required", ""))
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "public_key": key}), 400, rpcErr(400, "Owner ID is required", ""))
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "public_key": "ssh-foo x", "owner_id": 1}), 400,
		rpcErr(400, "invalid SSH public key format: must begin with ssh-rsa, ssh-ed25519, ecdsa-sha2-*, or ssh-dss", ""))
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "public_key": "  " + key, "owner_id": 1}), 200,
		`{"data":{"ID":1,"CreatedAt":"<T>","UpdatedAt":"<T>","DeletedAt":null,"name":"k","public_key":"  ssh-ed25519 AAAAC3Nza test","owner_id":1},"success":true}`)
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "public_key": key, "owner_id": 1}), 500,
		rpcErr(500, "Failed to create SSH key", `ERROR: duplicate key value violates unique constraint "idx_sshkey_owner_name" (SQLSTATE 23505)`))
	expect(t, rpc(t, base, "sshkey.create", map[string]any{"name": "k", "public_key": key, "owner_id": 2}), 200,
		`{"data":{"ID":2,"CreatedAt":"<T>","UpdatedAt":"<T>","DeletedAt":null,"name":"k","public_key":"ssh-ed25519 AAAAC3Nza test","owner_id":2},"success":true}`)
	if r := rpc(t, base, "sshkey.list", map[string]any{"owner_id": 2}); strings.Count(r.body, `"ID"`) != 1 {
		t.Fatal(r.body)
	}
	if r := rpc(t, base, "sshkey.list", map[string]any{}); strings.Count(r.body, `"ID"`) != 2 {
		t.Fatal(r.body)
	}
	expect(t, rpc(t, base, "sshkey.delete", map[string]any{"name": "nope", "owner_id": 1}), 500, rpcErr(500, "Failed to delete SSH key", "SSH key 'nope' not found for owner 1"))
	// owner_id 0 deletes the name across owners.
	expect(t, rpc(t, base, "sshkey.delete", map[string]any{"name": "k"}), 200, `{"success":true}`)
	expect(t, rpc(t, base, "sshkey.list", nil), 200, `{"data":[],"success":true}`)
}
