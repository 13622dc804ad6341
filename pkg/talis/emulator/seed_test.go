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

// TestSeedReadyInstancesLikeCreated checks that a seeded instance reads on the wire like one
// created over HTTP and driven to ready by the worker, and that its lifecycle goes on.
func TestSeedReadyInstancesLikeCreated(t *testing.T) {
	s, base := start(t, Config{Delays: fast, StableListOrder: true})
	mkProject(t, base, admin, "other")
	elem := instReq(admin, "other", "f", 2, `"tags":["team:other"]`)
	for _, in := range create(t, base, elem) {
		waitStatus(t, base, in.ID, "ready")
	}
	var req InstanceRequest
	if err := json.Unmarshal([]byte(elem), &req); err != nil {
		t.Fatal(err)
	}
	first, err := s.SeedReadyInstances(req)
	if err != nil || first != 3 {
		t.Fatalf("seed: first %d, %v", first, err)
	}
	rows := decode[struct{ Rows []map[string]any }](t, do(t, "GET", base+"/api/v1/instances?limit=0", "").body).Rows
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	ips := map[any]bool{}
	for i, r := range rows {
		id := float64(i + 1)
		if r["ID"] != id || r["provider_instance_id"] != 400000000+id || r["public_ip"] == "" || ips[r["public_ip"]] {
			t.Fatalf("row %d: %v", i, r)
		}
		ips[r["public_ip"]] = true
		if vd := r["volume_details"].([]any); len(vd) != 1 || vd[0].(map[string]any)["id"] != r["volume_ids"].([]any)[0] {
			t.Fatalf("row %d volumes: %v", i, r)
		}
		for _, k := range []string{"ID", "UpdatedAt", "created_at", "public_ip", "provider_instance_id", "volume_ids", "volume_details"} {
			delete(r, k)
		}
	}
	for i := range 2 {
		got, _ := json.Marshal(rows[2+i])
		want, _ := json.Marshal(rows[i])
		if string(got) != string(want) {
			t.Fatalf("seeded row\n%s\ncreated row\n%s", got, want)
		}
	}
	created, seeded := instTasks(t, base, 1, ""), instTasks(t, base, 3, "")
	if len(seeded) != 1 || seeded[0].Status != "completed" || seeded[0].Attempts != created[0].Attempts ||
		seeded[0].Logs != strings.ReplaceAll(created[0].Logs, "ID 1", "ID 3") {
		t.Fatalf("seeded task %+v, created %+v", seeded, created)
	}
	if n := s.Stats().InstancesByStatus["ready"]; n != 4 {
		t.Fatalf("%d ready", n)
	}
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"other","instance_ids":[4]}`)
	waitStatus(t, base, 4, "terminated")
}

func TestSeedReadyInstancesRefuses(t *testing.T) {
	s, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "other")
	var req InstanceRequest
	_ = json.Unmarshal([]byte(instReq(admin, "nope", "f", 2, "")), &req)
	if _, err := s.SeedReadyInstances(req); err == nil {
		t.Fatal("unknown project accepted")
	}
	req.ProjectName, req.Provider = "other", "aws"
	if _, err := s.SeedReadyInstances(req); err == nil {
		t.Fatal("provider the worker cannot serve accepted")
	}
	req.Provider, req.NumberOfInstances = "do", 0
	if _, err := s.SeedReadyInstances(req); err == nil {
		t.Fatal("zero instances accepted")
	}
}
