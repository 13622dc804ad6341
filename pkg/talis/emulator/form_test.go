/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"strings"
	"testing"
)

// Fiber's BodyParser decodes a form body with its schema decoder, which
// only fills a struct: each handler then answers as for its other decode
// errors, or validates what the form set (keys are upstream's Go field
// names, matched case-insensitively, since the structs have no form tags).
func TestFormEncodedBodies(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "f", 3, ""))

	for _, ct := range []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"} {
		expect(t, do(t, "POST", base+"/api/v1/instances", "["+instReq(admin, "p1", "g", 1, "")+"]", "Content-Type", ct), 400,
			`{"slug":"invalid-input","error":"failed to decode: schema: interface must be a pointer to struct","data":null}`)
		expect(t, do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[1]}`, "Content-Type", ct), 400,
			`{"error":"project name and instance IDs are required"}`)
		expect(t, do(t, "POST", base+"/api/v1", `{"method":"user.get"}`, "Content-Type", ct), 400, rpcErr(400, "Method is required", ""))
	}

	const form = "application/x-www-form-urlencoded"
	r := do(t, "POST", base+"/api/v1", "method=user.get&id=7", "Content-Type", form)
	if r.status != 200 || !strings.Contains(r.body, `"id":"7","success":true`) {
		t.Fatalf("RPC by form: %d %s", r.status, r.body)
	}
	// fasthttp only parses the form when the type is spelled in lower case.
	expect(t, do(t, "POST", base+"/api/v1", "method=user.get", "Content-Type", "Application/X-WWW-Form-Urlencoded"), 400,
		rpcErr(400, "Method is required", ""))

	expect(t, do(t, "DELETE", base+"/api/v1/instances", "ownerid=x&ProjectName=p1&InstanceIDs=1", "Content-Type", form), 400,
		`{"slug":"invalid-input","error":"failed to decode: schema: error converting value for \"ownerid\"","data":null}`)
	expect(t, do(t, "DELETE", base+"/api/v1/instances", "ProjectName=p1&InstanceIDs=1&InstanceIDs=x", "Content-Type", form), 400,
		`{"slug":"invalid-input","error":"failed to decode: schema: error converting value for index 1 of \"InstanceIDs\"","data":null}`)
	expect(t, do(t, "DELETE", base+"/api/v1/instances", "OwnerID=4294967295&project_name=p1&InstanceIDs=1", "Content-Type", form), 400,
		`{"error":"project name and instance IDs are required"}`)
	expect(t, do(t, "DELETE", base+"/api/v1/instances", "OwnerID=4294967295&projectname=p1&InstanceIDs=1&InstanceIDs=3", "Content-Type", form), 200,
		`{"slug":"success","error":"","data":null}`)
	for id, want := range map[uint]int{1: 1, 2: 0, 3: 1} {
		if got := len(instTasks(t, base, id, "?action=terminate_instances")); got != want {
			t.Errorf("instance %d: %d terminate tasks, want %d", id, got, want)
		}
	}
}
