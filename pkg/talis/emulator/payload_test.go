/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"strings"
	"testing"
)

// Upstream's create task stores the request's name for every instance of
// an element and numbers the ones after the first with instance_index.
func TestCreateTaskPayloadAsUpstream(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "web", 3, ""), instReq(admin, "p1", "db", 1, ""))
	type payload struct {
		Name          string          `json:"name"`
		InstanceID    uint            `json:"instance_id"`
		InstanceIndex json.RawMessage `json:"instance_index"`
	}
	want := []struct {
		name  string
		index string // "" = absent
	}{{"web", ""}, {"web", "1"}, {"web", "2"}, {"db", ""}}
	for i, in := range ins {
		r := do(t, "GET", base+"/api/v1/instances/"+itoa(in.ID)+"/tasks", "")
		rows := decode[struct {
			Data struct{ Rows []struct{ Payload payload } }
		}](t, r.body).Data.Rows
		p := rows[0].Payload
		if p.Name != want[i].name || string(p.InstanceIndex) != want[i].index || p.InstanceID != in.ID {
			t.Errorf("instance %d (%s): payload name %q index %q id %d, want %q %q %d",
				in.ID, in.Name, p.Name, p.InstanceIndex, p.InstanceID, want[i].name, want[i].index, in.ID)
		}
	}
}

// Upstream stores payloads as jsonb, which hands keys back by length, then
// bytewise, at every level.
func TestTaskPayloadInJSONBKeyOrder(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "web", 2, `"tags":["a"]`))
	r := rpc(t, base, "task.get", map[string]any{"task_id": 2, "owner_id": admin})
	const want = `"payload":{"cpu":0,"name":"web","size":"s-1vcpu-1gb","tags":["a"],"image":"ubuntu-22-04-x64",` +
		`"action":"create","memory":0,"region":"nyc1","volumes":[{"name":"data","region":"","size_gb":10,"filesystem":"","mount_point":""}],` +
		`"owner_id":4294967295,"provider":"do","provision":false,"public_ip":"","instance_id":2,"last_task_id":0,` +
		`"project_name":"p1","instance_index":1,"number_of_instances":2,"provider_instance_id":0}`
	if !strings.Contains(r.body, want) {
		t.Fatalf("task.get: %s\nwant payload %s", r.body, want)
	}
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[`+itoa(ins[0].ID)+`]}`)
	if r := do(t, "GET", base+"/api/v1/instances/1/tasks?action=terminate_instances", ""); !strings.Contains(r.body, `"payload":{"instance_id":1}`) {
		t.Fatal(r.body)
	}
}
