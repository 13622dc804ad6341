/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
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
