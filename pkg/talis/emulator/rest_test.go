/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const instGolden = `{"ID":%ID%,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"<T>","DeletedAt":null,"owner_id":4294967295,"project_id":1,"name":"%NAME%","provider_id":"do","provider_instance_id":0,"public_ip":"","region":"nyc1","size":"s-1vcpu-1gb","image":"","tags":%TAGS%,"status":"pending","volume_ids":[],"volume_details":[],"created_at":"<T>","payload_status":"none"}`

func golden(id, name, tags string) string {
	return strings.NewReplacer("%ID%", id, "%NAME%", name, "%TAGS%", tags).Replace(instGolden)
}

func TestCreateGolden(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	body := "[" + instReq(admin, "p1", "web", 2, `"tags":["a","b"],"ssh_key_name":"k","status":"ready","bogus_field":1`) +
		"," + instReq(admin, "p1", "", 1, "") + "," + instReq(admin, "p1", "solo", 1, "") + "]"
	r := do(t, "POST", base+"/api/v1/instances", body)
	expect(t, r, 201, `{"slug":"success","error":"","data":[`+golden("1", "web-1", `["a","b"]`)+","+
		golden("2", "web-2", `["a","b"]`)+","+golden("3", "", "null")+","+golden("4", "solo", "null")+"]}")
}

func TestCreateErrors(t *testing.T) {
	_, base := start(t, Config{Delays: frozen, LookupEnv: func(string) (string, bool) { return "", false }})
	mkProject(t, base, admin, "p1")
	url := base + "/api/v1/instances"
	bad := func(r resp, status int, slug, msg string) {
		t.Helper()
		expect(t, r, status, `{"slug":"`+slug+`","error":`+jsonString(msg)+`,"data":null}`)
	}
	bad(do(t, "POST", url, instReq(admin, "p1", "x", 1, "")), 400, "invalid-input", "json: cannot unmarshal object into Go value of type []types.InstanceRequest")
	bad(do(t, "POST", url, "[]"), 400, "invalid-input", "at least one instance request is required")
	bad(do(t, "POST", url, "[", "Content-Type", "application/json; charset=utf-8"), 400, "invalid-input", "unexpected end of JSON input")
	bad(do(t, "POST", url, "[]", "Content-Type", ""), 400, "invalid-input", "Unprocessable Entity")
	bad(do(t, "POST", url, "[]", "Content-Type", "text/plain"), 400, "invalid-input", "Unprocessable Entity")
	bad(do(t, "POST", url, `[{"owner_id":"1"}]`), 400, "invalid-input", "json: cannot unmarshal string into Go struct field InstanceRequest.owner_id of type uint")

	dir := t.TempDir()
	small := filepath.Join(dir, "p.sh")
	big := filepath.Join(dir, "big.bin")
	_ = os.WriteFile(small, []byte("echo hi"), 0o600)
	_ = os.WriteFile(big, make([]byte, 2<<20+1), 0o600)
	cases := []struct{ extra, msg string }{
		{`"project_name":""`, "project_name is required"},
		{`"owner_id":0`, "owner_id is required"},
		{`"provider":""`, "provider is required"},
		{`"provider":"nope"`, "unsupported provider: nope"},
		{`"region":""`, "region is required"},
		{`"size":""`, "either size, or both memory and cpu, must be provided"},
		{`"image":""`, "image is required"},
		{`"number_of_instances":0`, "number_of_instances must be greater than 0"},
		{`"volumes":[]`, "at least one volume configuration is required"},
		{`"provider":"ximera","memory":0,"cpu":1`, "memory is required and must be > 0 for Ximera"},
		{`"provider":"ximera","memory":1,"cpu":0`, "cpu is required and must be > 0 for Ximera"},
		{`"provider":"ximera","memory":1,"cpu":1`, `image (osID) must be a valid integer for Ximera: strconv.Atoi: parsing "ubuntu-22-04-x64": invalid syntax`},
		{`"provider":"ximera","memory":1,"cpu":1,"image":"7"`, "environment variable TALIS_SSH_KEY_NAME is required for Ximera"},
		{`"volumes":[{"name":"a"},{"region":"ams3"}]`, "invalid volume configuration at index 1: volume region ams3 does not match instance region nyc1"},
		{`"payload_path":"rel/p.sh"`, "payload_path must be an absolute path"},
		{`"payload_path":"` + dir + `/missing/../nope.sh"`, "payload_path file does not exist: " + dir + "/nope.sh"},
		{`"payload_path":"` + dir + `"`, "payload_path cannot be a directory"},
		{`"payload_path":"` + big + `"`, "payload file size exceeds the limit of 2MB"},
		{`"execute_payload":true`, "payload_path is required when execute_payload is true"},
		{`"payload_path":"` + small + `"`, "provision must be true when payload_path is provided"},
	}
	for _, c := range cases {
		// Later keys win in encoding/json, so extra overrides the defaults.
		bad(do(t, "POST", url, "["+instReq(admin, "p1", "x", 1, c.extra)+"]"), 400, "invalid-input", c.msg)
	}
	// First failing element wins; nothing is written.
	bad(do(t, "POST", url, "["+instReq(admin, "p1", "ok", 1, "")+","+instReq(admin, "p1", "x", 1, `"region":""`)+"]"), 400, "invalid-input", "region is required")
	bad(do(t, "POST", url, "["+instReq(admin, "nosuch", "x", 1, "")+"]"), 500, "server-error", "failed to get project: record not found")
	bad(do(t, "POST", url, "["+instReq(7, "p1", "x", 1, "")+"]"), 500, "server-error", "failed to get project: record not found")
	r := do(t, "GET", base+"/api/v1/instances?include_deleted=true", "")
	expect(t, r, 200, `{"rows":[],"pagination":{"total":0,"page":1,"limit":100,"offset":0}}`)

	// A valid payload with provision → pending_copy.
	ins := create(t, base, instReq(admin, "p1", "pl", 1, `"payload_path":"`+small+`","provision":true`))
	if r := do(t, "GET", base+"/api/v1/instances/"+itoa(ins[0].ID), ""); !strings.Contains(r.body, `"payload_status":"pending_copy"`) {
		t.Fatal(r.body)
	}
}

// jsonString encodes like the server (encoding/json, HTML-escaped).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestListAndFilters(t *testing.T) {
	s, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "n", 3, ""))
	// Mark instance 2 terminated directly (the worker is frozen).
	s.st.mu.Lock()
	s.st.setStatus(2, stTerminated, nowNano())
	s.st.mu.Unlock()

	list := func(q string) (int, []wireInst, Pagination) {
		r := do(t, "GET", base+"/api/v1/instances"+q, "")
		v := decode[struct {
			Rows       []wireInst
			Pagination Pagination
		}](t, r.body)
		return r.status, v.Rows, v.Pagination
	}
	names := func(rows []wireInst) string {
		var n []string
		for _, r := range rows {
			n = append(n, r.Name)
		}
		return strings.Join(n, ",")
	}
	check := func(q, want string, p Pagination) {
		t.Helper()
		st, rows, pg := list(q)
		if st != 200 || names(rows) != want || pg != p {
			t.Fatalf("%s: %d %q %+v, want %q %+v", q, st, names(rows), pg, want, p)
		}
	}
	check("", "n-1,n-3", Pagination{2, 1, 100, 0})
	check("?include_deleted=true", "n-1,n-2,n-3", Pagination{3, 1, 100, 0})
	check("?include_deleted=1&limit=2", "n-1,n-2", Pagination{2, 1, 2, 0})
	check("?include_deleted=t&limit=2&offset=2", "n-3", Pagination{1, 1, 2, 2})
	check("?include_deleted=yes", "n-1,n-3", Pagination{2, 1, 100, 0}) // not ParseBool syntax → false
	check("?limit=0", "n-1,n-3", Pagination{2, 1, 0, 0})
	check("?limit=-5&offset=-1", "n-1,n-3", Pagination{2, 1, -5, -1})
	check("?limit=abc", "n-1,n-3", Pagination{2, 1, 100, 0})
	check("?status=terminated", "n-2", Pagination{1, 1, 100, 0})
	check("?status=pending&include_deleted=true", "n-1,n-3", Pagination{2, 1, 100, 0})
	check("?instance_status=terminated&status_filter=equal", "n-1,n-3", Pagination{2, 1, 100, 0})
	r := do(t, "GET", base+"/api/v1/instances?status=bogus", "")
	expect(t, r, 400, `{"slug":"invalid-input","error":"invalid instance status: invalid instance status: bogus","data":null}`)

	// Admin list is the same handler; all-metadata ignores status.
	r = do(t, "GET", base+"/api/v1/admin/instances?status=terminated", "")
	if !strings.Contains(r.body, `"name":"n-2"`) || strings.Contains(r.body, `"name":"n-1"`) {
		t.Fatal(r.body)
	}
	r = do(t, "GET", base+"/api/v1/instances/all-metadata?status=terminated", "")
	if !strings.Contains(r.body, `"name":"n-1"`) || strings.Contains(r.body, `"name":"n-2"`) {
		t.Fatal(r.body)
	}
	r = do(t, "GET", base+"/api/v1/admin/instances/all-metadata?status=bogus&limit=1", "")
	if r.status != 200 || !strings.Contains(r.body, `"pagination":{"total":1,"page":1,"limit":1,"offset":0}`) {
		t.Fatal(r.body)
	}
	r = do(t, "GET", base+"/api/v1/instances/public-ips?include_deleted=true&status=bogus", "")
	expect(t, r, 200, `{"public_ips":[{"public_ip":""},{"public_ip":""},{"public_ip":""}],"pagination":{"total":3,"page":1,"limit":100,"offset":0}}`)
	r = do(t, "GET", base+"/health", "")
	expect(t, r, 200, `{"status":"healthy"}`)
}

func TestGetInstance(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "g", 1, ""))
	expect(t, do(t, "GET", base+"/api/v1/instances/1", ""), 200, golden("1", "g", "null"))
	expect(t, do(t, "GET", base+"/api/v1/instances/abc", ""), 400,
		`{"slug":"invalid-input","error":"instance id is required: failed to convert: strconv.Atoi: parsing \"abc\": invalid syntax","data":null}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/0", ""), 400, `{"slug":"invalid-input","error":"instance id must be positive","data":null}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/-3", ""), 400, `{"slug":"invalid-input","error":"instance id must be positive","data":null}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/99", ""), 500, `{"error":"failed to get instance: failed to get instance: record not found"}`)
}

func TestDeleteInstances(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	mkProject(t, base, 5, "p5")
	create(t, base, instReq(admin, "p1", "a", 2, ""))
	create(t, base, instReq(5, "p5", "b", 1, ""))
	url := base + "/api/v1/instances"
	expect(t, do(t, "DELETE", url, `{"owner_id":1,"project_name":"","instance_ids":[1]}`), 400, `{"error":"project name and instance IDs are required"}`)
	expect(t, do(t, "DELETE", url, `{"owner_id":1,"project_name":"p1"}`), 400, `{"error":"project name and instance IDs are required"}`)
	expect(t, do(t, "DELETE", url, `{"owner_id":1,"project_name":"p1","instance_ids":[]}`), 400, `{"error":"project name and instance IDs are required"}`)
	expect(t, do(t, "DELETE", url, `{"owner_id":"x"}`), 400, `{"slug":"invalid-input","error":"json: cannot unmarshal string into Go struct field DeleteInstancesRequest.owner_id of type uint","data":null}`)
	expect(t, do(t, "DELETE", url, `{}`, "Content-Type", ""), 400, `{"slug":"invalid-input","error":"Unprocessable Entity","data":null}`)
	expect(t, do(t, "DELETE", url, `{"owner_id":4294967295,"project_name":"nosuch","instance_ids":[1]}`), 500,
		`{"error":"failed to terminate instances: failed to get project 'nosuch': record not found"}`)
	expect(t, do(t, "DELETE", url, `{"owner_id":5,"project_name":"p1","instance_ids":[1]}`), 500,
		`{"error":"failed to terminate instances: failed to get project 'p1': record not found"}`)
	// Ids outside the project are ignored; duplicates collapse.
	expect(t, do(t, "DELETE", url, `{"owner_id":4294967295,"project_name":"p1","instance_ids":[3,1,1,99]}`), 200, `{"slug":"success","error":"","data":null}`)
	if ts := instTasks(t, base, 1, "?action=terminate_instances"); len(ts) != 1 || ts[0].Priority != 2 || ts[0].Status != "pending" {
		t.Fatalf("%+v", ts)
	}
	if ts := instTasks(t, base, 2, "?action=terminate_instances"); len(ts) != 0 {
		t.Fatalf("%+v", ts)
	}
	// owner_id omitted: project matched by name only (ownership bypass);
	// the terminate task is owned by 0 and therefore invisible.
	expect(t, do(t, "DELETE", url, `{"project_name":"p5","instance_ids":[3]}`), 200, `{"slug":"success","error":"","data":null}`)
	r := rpc(t, base, "task.list", map[string]any{"projectName": "p1", "owner_id": 1})
	if n := strings.Count(r.body, `"action":"terminate_instances"`); n != 1 {
		t.Fatalf("terminate tasks: %d %s", n, r.body)
	}
}

func TestInstanceTasks(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	mkProject(t, base, 9, "p9")
	create(t, base, instReq(admin, "p1", "a", 1, `"tags":["x"]`))
	create(t, base, instReq(9, "p9", "b", 1, ""))
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1]}`)
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1]}`)

	r := do(t, "GET", base+"/api/v1/instances/1/tasks?owner_id=1&limit=1&offset=2", "")
	expect(t, r, 200, `{"slug":"success","error":"","data":{"rows":[{"ID":1,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"<T>","DeletedAt":null,"project_id":1,"instance_id":1,"action":"create_instances","status":"pending","payload":{"cpu":0,"name":"a","size":"s-1vcpu-1gb","tags":["x"],"image":"ubuntu-22-04-x64","action":"create","memory":0,"region":"nyc1","volumes":[{"name":"data","region":"","size_gb":10,"filesystem":"","mount_point":""}],"owner_id":4294967295,"provider":"do","provision":false,"public_ip":"","instance_id":1,"last_task_id":0,"project_name":"p1","number_of_instances":1,"provider_instance_id":0},"attempts":0,"webhook_sent":false,"created_at":"<T>","priority":1}],"pagination":{"total":1,"page":3,"limit":1,"offset":2}}}`)
	r = do(t, "GET", base+"/api/v1/instances/1/tasks", "")
	ts := decode[struct{ Data struct{ Rows []wireTask } }](t, r.body).Data.Rows
	if len(ts) != 3 || ts[0].ID != 4 || ts[1].ID != 3 || ts[2].ID != 1 {
		t.Fatalf("newest first: %+v", ts)
	}
	if !strings.Contains(r.body, `"payload":{"instance_id":1}`) || !strings.Contains(r.body, `"pagination":{"total":3,"page":1,"limit":100,"offset":0}`) {
		t.Fatal(r.body)
	}
	r = do(t, "GET", base+"/api/v1/instances/1/tasks?limit=0", "")
	if !strings.Contains(r.body, `"pagination":{"total":3,"page":0,"limit":0,"offset":0}`) {
		t.Fatal(r.body)
	}
	// Tasks of other owners are invisible; unknown instances are empty.
	for _, id := range []string{"2", "999"} {
		expect(t, do(t, "GET", base+"/api/v1/instances/"+id+"/tasks", ""), 200,
			`{"slug":"success","error":"","data":{"rows":[],"pagination":{"total":0,"page":1,"limit":100,"offset":0}}}`)
	}
	for q, msg := range map[string]string{
		"/x/tasks":                  "Invalid or missing instance_id parameter",
		"/0/tasks":                  "Invalid or missing instance_id parameter",
		"/1/tasks?limit=-1":         "limit must be a non-negative number",
		"/1/tasks?offset=-1":        "offset must be a non-negative number",
		"/1/tasks?limit=0&offset=1": "limit must be set when offset is used",
		"/1/tasks?action=create":    "invalid task action: create",
	} {
		expect(t, do(t, "GET", base+"/api/v1/instances"+q, ""), 400, `{"slug":"invalid-input","error":"`+msg+`","data":null}`)
	}
}
