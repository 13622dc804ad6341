/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"strings"
	"testing"
	"time"
)

func TestTaskFailureFault(t *testing.T) {
	s, base := start(t, Config{Delays: fast, Faults: Faults{CreateFailRate: 1}})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "f", 1, ""))
	tk := waitTask(t, base, ins[0].ID, "create_instances", "failed")
	if !strings.HasPrefix(tk.Error, "\nworker: failed to create instance ID 1") || !strings.Contains(tk.Logs, "failed to process create instance task 1") {
		t.Fatalf("%+v", tk)
	}
	if got := getInst(t, base, ins[0].ID); got.Status != "pending" {
		t.Fatal(got.Status)
	}
	// Provisioning failure leaves the instance in provisioning.
	s.SetFaults(Faults{ProvisionFailRate: 1})
	ins = create(t, base, instReq(admin, "p1", "pf", 1, `"provision":true`))
	waitTask(t, base, ins[0].ID, "create_instances", "failed")
	if got := getInst(t, base, ins[0].ID); got.Status != "provisioning" || got.PublicIP == "" {
		t.Fatalf("%+v", got)
	}
	// Terminate failure leaves the instance unchanged.
	s.SetFaults(Faults{TerminateFailRate: 1})
	do(t, "DELETE", base+"/api/v1/instances", `{"owner_id":4294967295,"project_name":"p1","instance_ids":[2]}`)
	waitTask(t, base, 2, "terminate_instances", "failed")
	if got := getInst(t, base, 2); got.Status != "provisioning" {
		t.Fatal(got.Status)
	}
	if st := s.Stats(); st.TasksFailed != 3 {
		t.Fatalf("%+v", st)
	}
}

func TestNeverReadyFault(t *testing.T) {
	for _, stage := range []string{"pending", "created", "provisioning"} {
		_, base := start(t, Config{Delays: fast, Faults: Faults{NeverReadyRate: 1, NeverReadyStage: stage}})
		mkProject(t, base, admin, "p1")
		ins := create(t, base, instReq(admin, "p1", "n", 1, `"provision":true`))
		waitStatus(t, base, ins[0].ID, stage)
		time.Sleep(100 * time.Millisecond)
		if got := getInst(t, base, ins[0].ID); got.Status != stage {
			t.Fatalf("%s: moved to %s", stage, got.Status)
		}
		if tk := instTasks(t, base, ins[0].ID, ""); tk[0].Status != "running" {
			t.Fatalf("%+v", tk)
		}
	}
}

// A frozen create task keeps its worker's lock: locked_at, and lock_expiry that much later
// (upstream's five minutes, or Config.LockDuration); a finished task holds no lock.
func TestNeverReadyTaskLock(t *testing.T) {
	for _, lock := range []time.Duration{0, 20 * time.Second} {
		_, base := start(t, Config{Delays: fast, LockDuration: lock, Faults: Faults{NeverReadyRate: 1}})
		mkProject(t, base, admin, "p1")
		ins := create(t, base, instReq(admin, "p1", "n", 1, ""))
		waitTask(t, base, ins[0].ID, "create_instances", "running")
		r := do(t, "GET", base+"/api/v1/instances/"+itoa(ins[0].ID)+"/tasks", "")
		tk := decode[struct {
			Data struct {
				Rows []struct {
					LockedAt   *time.Time `json:"locked_at"`
					LockExpiry *time.Time `json:"lock_expiry"`
				}
			}
		}](t, r.body).Data.Rows
		want := lock
		if want == 0 {
			want = 5 * time.Minute
		}
		if len(tk) != 1 || tk[0].LockedAt == nil || tk[0].LockExpiry == nil || tk[0].LockExpiry.Sub(*tk[0].LockedAt) != want {
			t.Fatalf("lock %s: %s", lock, r.body)
		}
	}
	_, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "n", 1, ""))
	waitTask(t, base, ins[0].ID, "create_instances", "completed")
	if r := do(t, "GET", base+"/api/v1/instances/"+itoa(ins[0].ID)+"/tasks", ""); strings.Contains(r.body, "lock") {
		t.Fatalf("a completed task holds a lock: %s", r.body)
	}
}

func TestRateLimit429(t *testing.T) {
	s, base := start(t, Config{Delays: frozen, Faults: Faults{Next429: 2, RetryAfter: 1500 * time.Millisecond}})
	for i := 0; i < 2; i++ {
		r := do(t, "GET", base+"/health", "")
		if r.status != 429 || r.body != `{"message":"API rate limit exceeded"}` || r.header.Get("Retry-After") != "2" {
			t.Fatalf("%d %s %v", r.status, r.body, r.header)
		}
	}
	expect(t, do(t, "GET", base+"/health", ""), 200, `{"status":"healthy"}`)

	s.SetFaults(Faults{RateLimit: 2, RateBurst: 3})
	var ok, limited int
	for i := 0; i < 10; i++ {
		r := do(t, "GET", base+"/health", "")
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			if r.header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
		}
	}
	if ok < 3 || ok > 6 || limited != 10-ok { // 3 burst tokens + refill at 2/s
		t.Fatalf("ok=%d limited=%d", ok, limited)
	}
	if st := s.Stats(); st.Faults["rate_limit_burst"] != 2 || st.Faults["rate_limit"] != int64(limited) || st.Statuses["429"] != int64(2+limited) {
		t.Fatalf("%+v", st)
	}
}

func TestErrorShapes(t *testing.T) {
	_, base := start(t, Config{Delays: frozen, Faults: Faults{Routes: map[string]RouteFault{"*": {ErrorRate: 1}}}})
	const fm = "emulator: injected fault"
	expect(t, do(t, "GET", base+"/api/v1/instances", ""), 500, `{"error":"failed to list instances: `+fm+`"}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/all-metadata", ""), 500, `{"error":"failed to get instance metadata: `+fm+`"}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/public-ips", ""), 500, `{"error":"failed to get public IPs: `+fm+`"}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/1", ""), 500, `{"error":"failed to get instance: `+fm+`"}`)
	expect(t, do(t, "DELETE", base+"/api/v1/instances", "{}"), 500, `{"error":"failed to terminate instances: `+fm+`"}`)
	expect(t, do(t, "POST", base+"/api/v1/instances", "[]"), 500, `{"slug":"server-error","error":"failed to add instances to database: `+fm+`","data":null}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/1/tasks", ""), 500, `{"slug":"server-error","error":"Failed to retrieve tasks for the instance","data":null}`)
	expect(t, do(t, "POST", base+"/api/v1", `{"method":"project.create","id":"x"}`), 500,
		`{"error":{"code":500,"message":"Failed to create project","data":"`+fm+`"},"id":"x","success":false}`)
}

func TestRouteSpecificFaults(t *testing.T) {
	s, base := start(t, Config{Delays: frozen, Faults: Faults{Routes: map[string]RouteFault{
		"GET /health":        {GatewayErrorRate: 1, GatewayStatus: 503},
		"RPC *":              {GatewayErrorRate: 1},
		"RPC project.create": {Latency: 50 * time.Millisecond},
	}}})
	r := do(t, "GET", base+"/health", "")
	if r.status != 503 || r.body != `{"message":"failure to get a peer from the ring-balancer"}` {
		t.Fatal(r.status, r.body)
	}
	if r := rpc(t, base, "user.get", nil); r.status != 502 {
		t.Fatal(r.status)
	}
	t0 := time.Now()
	mkProject(t, base, 1, "slow")
	if time.Since(t0) < 50*time.Millisecond {
		t.Fatal("no latency")
	}
	if r := do(t, "GET", base+"/api/v1/instances", ""); r.status != 200 {
		t.Fatal(r.status)
	}
	if f := s.Faults(); f.Routes["GET /health"].GatewayStatus != 503 {
		t.Fatalf("%+v", f)
	}
}

func TestTimeoutAndAmbiguousCreate(t *testing.T) {
	s, base := start(t, Config{Delays: frozen, Faults: Faults{Routes: map[string]RouteFault{
		"GET /health":            {TimeoutRate: 1, Hang: 50 * time.Millisecond},
		"POST /api/v1/instances": {CommitThenDropRate: 1, Hang: 50 * time.Millisecond},
	}}})
	mkProject(t, base, admin, "p1")
	if _, err := doErr("GET", base+"/health", ""); err == nil {
		t.Fatal("want dropped connection")
	}
	if _, err := doErr("POST", base+"/api/v1/instances", "["+instReq(admin, "p1", "amb", 3, "")+"]"); err == nil {
		t.Fatal("want dropped connection")
	}
	// The create committed although the client saw an error.
	if led := s.Ledger(); len(led) != 3 || led[0].Name != "amb-1" {
		t.Fatalf("%+v", led)
	}
	// net/http may retry an idempotent GET once on a reused connection.
	st := s.Stats()
	if st.Statuses["dropped"] != st.Faults["timeout"]+1 || st.Faults["timeout"] < 1 || st.Faults["commit_then_drop"] != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestGatewayAuth(t *testing.T) {
	s, base := start(t, Config{Delays: frozen, APIKeys: []string{"k1"}})
	r := do(t, "GET", base+"/health", "")
	if r.status != 401 || r.body != `{"message":"No API key found in request"}` {
		t.Fatal(r.status, r.body)
	}
	r = do(t, "GET", base+"/health", "", "apikey", "bad")
	if r.status != 401 || r.body != `{"message":"Invalid authentication credentials"}` {
		t.Fatal(r.status, r.body)
	}
	expect(t, do(t, "GET", base+"/health", "", "APIKEY", "k1"), 200, `{"status":"healthy"}`)
	expect(t, do(t, "GET", base+"/health?apikey=k1", ""), 200, `{"status":"healthy"}`)
	// Control endpoints bypass the gateway.
	if r := do(t, "GET", base+"/emulator/stats", ""); r.status != 200 {
		t.Fatal(r.status)
	}
	s.SetAPIKeys()
	expect(t, do(t, "GET", base+"/health", ""), 200, `{"status":"healthy"}`)
}

func TestGatewayLimiter(t *testing.T) {
	var g gatewayLimiter
	if ok, _ := g.take(); !ok {
		t.Fatal("an unconfigured limiter refused")
	}
	g.configure(2, 3)
	for i := 0; i < 3; i++ {
		if ok, _ := g.take(); !ok {
			t.Fatalf("take %d of a full bucket of 3 refused", i+1)
		}
	}
	ok, wait := g.take()
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("empty bucket at 2/s: ok=%v wait=%v, want a refusal and a wait up to 500ms", ok, wait)
	}
	g.configure(2, 3) // the same settings keep the empty bucket
	if ok, _ := g.take(); ok {
		t.Fatal("reconfiguring with the same settings refilled the bucket")
	}
	g.configure(2, 1) // new settings start a full bucket
	if ok, _ := g.take(); !ok {
		t.Fatal("new settings did not refill the bucket")
	}
	g.configure(0, 1) // off
	for i := 0; i < 10; i++ {
		if ok, _ := g.take(); !ok {
			t.Fatal("a rate of 0 refused")
		}
	}
}
