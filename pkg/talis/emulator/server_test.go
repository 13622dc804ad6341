/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRestartKeepsState(t *testing.T) {
	s, base := start(t, Config{Delays: fast, Faults: Faults{NeverReadyRate: 1}})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "a", 2, ""))
	waitTask(t, base, ins[0].ID, "create_instances", "running") // stuck in the provider call
	s.SetFaults(Faults{})

	done := make(chan error, 1)
	go func() { done <- s.RestartFor(300 * time.Millisecond) }()
	time.Sleep(100 * time.Millisecond)
	if _, err := doErr("GET", base+"/health", ""); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("want connection refused during downtime, got %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.URL() != base {
		t.Fatalf("address changed: %s != %s", s.URL(), base)
	}
	// Running tasks were reset (attempts+1) and picked again (+1).
	tk := waitTask(t, base, ins[0].ID, "create_instances", "completed")
	if tk.Attempts != 3 {
		t.Fatalf("%+v", tk)
	}
	waitStatus(t, base, ins[1].ID, "ready")
	if more := create(t, base, instReq(admin, "p1", "b", 1, "")); more[0].ID != 3 {
		t.Fatalf("ids restarted: %+v", more)
	}
	if r := rpc(t, base, "project.get", map[string]any{"name": "p1", "owner_id": admin}); r.status != 200 {
		t.Fatal(r.body)
	}
	if st := s.Stats(); st.Restarts != 1 {
		t.Fatalf("%+v", st)
	}

	// Via the control endpoint: 202 now, down shortly after, back later.
	if r := do(t, "POST", base+"/emulator/restart?downtime=200ms", ""); r.status != 202 {
		t.Fatal(r.status, r.body)
	}
	sawDown := false
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, err := doErr("GET", base+"/health", "")
		if err != nil {
			sawDown = true
		} else if sawDown {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawDown || s.Stats().Restarts != 2 {
		t.Fatalf("sawDown=%v stats=%+v", sawDown, s.Stats())
	}
}

func TestRestartHandlerMode(t *testing.T) {
	s := New(Config{Delays: frozen, Seed: 1})
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	go func() { _ = s.RestartFor(200 * time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := doErr("GET", ts.URL+"/health", ""); err == nil {
		t.Fatal("want dropped connection while restarting")
	}
	time.Sleep(300 * time.Millisecond)
	expect(t, do(t, "GET", ts.URL+"/health", ""), 200, `{"status":"healthy"}`)
}

func TestStatsCounters(t *testing.T) {
	s, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "s", 1, ""))
	do(t, "GET", base+"/api/v1/instances/1", "")
	do(t, "GET", base+"/api/v1/instances/2", "")
	do(t, "HEAD", base+"/api/v1/instances/1", "")
	do(t, "GET", base+"/nope/123", "")
	do(t, "PUT", base+"/api/v1/instances", "")
	rpcRaw(t, base, `{"method":"what.ever"}`)
	rpcRaw(t, base, `{`)
	st := s.Stats()
	want := map[string]int64{
		"RPC project.create":         1,
		"POST /api/v1/instances":     1,
		"GET /api/v1/instances/:id":  2,
		"HEAD /api/v1/instances/:id": 1,
		"GET (unmatched)":            1,
		"PUT /api/v1/instances":      1,
		"RPC (unknown)":              1,
		"RPC (invalid)":              1,
	}
	for k, v := range want {
		if st.Requests[k] != v {
			t.Errorf("%s: %d, want %d (%v)", k, st.Requests[k], v, st.Requests)
		}
	}
	if st.RouteStatuses["GET /api/v1/instances/:id"]["500"] != 1 || st.Statuses["201"] != 1 || st.Statuses["400"] != 2 || st.Methods["HEAD"] != 1 {
		t.Fatalf("%+v", st)
	}
	r := do(t, "GET", base+"/emulator/stats", "")
	got := decode[Stats](t, r.body)
	if got.Requests["GET /api/v1/instances/:id"] != 2 || got.InstancesByStatus["pending"] != 1 {
		t.Fatal(r.body)
	}
	do(t, "DELETE", base+"/emulator/stats", "")
	if st := s.Stats(); len(st.Requests) != 0 || st.InstancesByStatus["pending"] != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestControlEndpoints(t *testing.T) {
	s, base := start(t, Config{Delays: frozen})
	r := do(t, "PUT", base+"/emulator/faults", `{"next_429":1,"retry_after":"3s","create_fail_rate":0.5,"routes":{"GET /health":{"latency":25,"error_rate":0.1}}}`)
	if r.status != 200 {
		t.Fatal(r.body)
	}
	f := s.Faults()
	if f.Next429 != 1 || f.RetryAfter != 3*time.Second || f.CreateFailRate != 0.5 || f.Routes["GET /health"].Latency != 25*time.Millisecond {
		t.Fatalf("%+v", f)
	}
	if r := do(t, "GET", base+"/emulator/faults", ""); !strings.Contains(r.body, `"retry_after":"3s"`) || !strings.Contains(r.body, `"latency":"25ms"`) {
		t.Fatal(r.body)
	}
	if r := do(t, "PUT", base+"/emulator/faults", `{"nxt_429":1}`); r.status != 400 {
		t.Fatal(r.status, r.body)
	}
	do(t, "DELETE", base+"/emulator/faults", "")
	if f := s.Faults(); f.Next429 != 0 || f.Routes != nil {
		t.Fatalf("%+v", f)
	}

	if r := do(t, "PUT", base+"/emulator/delays", `{"create":"7ms"}`); r.status != 200 {
		t.Fatal(r.body)
	}
	if d := s.Delays(); d.Create != 7*time.Millisecond || d.Pickup != time.Hour {
		t.Fatalf("%+v", d)
	}
	if r := do(t, "PUT", base+"/emulator/delays", `{"spread":0.25}`); r.status != 200 || !strings.Contains(r.body, `"spread":0.25`) || s.Delays().Spread != 0.25 {
		t.Fatal(r.body)
	}
	if r := do(t, "PUT", base+"/emulator/delays", `{"spread":1.5}`); r.status != 400 {
		t.Fatal(r.status, r.body)
	}
	do(t, "PUT", base+"/emulator/apikeys", `["a","b"]`)
	if r := do(t, "GET", base+"/health", ""); r.status != 401 {
		t.Fatal(r.status)
	}
	do(t, "PUT", base+"/emulator/apikeys", `[]`)

	mkProject(t, base, 3, "p3")
	create(t, base, instReq(3, "p3", "l", 2, `"tags":["t"]`))
	r = do(t, "GET", base+"/emulator/ledger", "")
	led := decode[[]LedgerEntry](t, r.body)
	if len(led) != 2 || led[1].Name != "l-2" || led[1].Project != "p3" || led[1].Tags[0] != "t" || led[1].Status != "pending" {
		t.Fatal(r.body)
	}
	if r := do(t, "GET", base+"/emulator/nope", ""); r.status != 404 {
		t.Fatal(r.status)
	}
	var fj Faults
	if err := json.Unmarshal([]byte(`{"never_ready_stage":"later"}`), &fj); err == nil {
		t.Fatal("want stage error")
	}
}
