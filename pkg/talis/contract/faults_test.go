package contract

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestRateLimited429(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	e.mkProject(t, "rl", 7)

	// A 429 with Retry-After: 1 is retried after at least a second.
	for _, tc := range []struct {
		name, route string
		call        func() error
	}{
		{"GET", "GET /api/v1/instances", func() error { _, err := e.c.GetInstances(ctx, nil); return err }},
		{"RPC read", "RPC project.get", func() error {
			_, err := e.c.GetProject(ctx, talis.ProjectGetParams{Name: "rl", OwnerID: 7})
			return err
		}},
	} {
		e.srv.ResetStats()
		e.srv.SetFaults(emulator.Faults{Next429: 1, RetryAfter: time.Second})
		start := time.Now()
		ex := e.capture(func() { noErr(t, tc.call()) })
		elapsed := time.Since(start)
		st := e.srv.Stats()
		if elapsed < time.Second {
			t.Errorf("%s: retried after %v, Retry-After was 1s", tc.name, elapsed)
		}
		if len(ex) != 2 || ex[0].Status != 429 || ex[1].Status != 200 {
			t.Errorf("%s: attempts %v", tc.name, summarize(ex))
		}
		// (The gateway answers 429 before reading an RPC body, so the emulator
		// files that attempt under "POST /api/v1".)
		if st.Statuses["429"] != 1 || st.Statuses["200"] != 1 || st.RouteStatuses[tc.route]["200"] != 1 || len(st.Statuses) != 2 {
			t.Errorf("%s: emulator stats %v", tc.name, st.RouteStatuses)
		}
	}

	// A Retry-After beyond MaxBackoff fails at once and reports the delay.
	short := e.newClient(func(o *talis.Options) { o.Retry.MaxBackoff = 200 * time.Millisecond })
	e.srv.SetFaults(emulator.Faults{Next429: 1, RetryAfter: 3 * time.Second})
	ex := e.capture(func() {
		_, err := short.GetInstances(ctx, nil)
		ra, ok := talis.RetryAfter(err)
		if !talis.IsRetryable(err) || !ok || ra != 3*time.Second || talis.IsAmbiguous(err) {
			t.Errorf("long Retry-After: %v (RetryAfter %v %v)", err, ra, ok)
		}
		if ae := apiErr(t, err); ae.StatusCode != 429 || ae.Message != "API rate limit exceeded" {
			t.Errorf("429 decoded as %d %q", ae.StatusCode, ae.Message)
		}
	})
	if len(ex) != 1 {
		t.Errorf("long Retry-After: %d attempts", len(ex))
	}

	// CreateInstance is never retried, not even after a 429 (which is
	// retryable and unambiguous: the gateway rejected it).
	e.srv.SetFaults(emulator.Faults{Next429: 1, RetryAfter: time.Second})
	ex = e.capture(func() {
		_, err := e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("rl", 7, "do-mock", "", 1)})
		if !talis.IsRetryable(err) || talis.IsAmbiguous(err) {
			t.Errorf("create 429: %v IsRetryable=%v IsAmbiguous=%v", err, talis.IsRetryable(err), talis.IsAmbiguous(err))
		}
	})
	if len(ex) != 1 || len(e.srv.Ledger()) != 0 {
		t.Errorf("create 429: %d attempts, %d instances", len(ex), len(e.srv.Ledger()))
	}

	// The client's own rate limit keeps it under the gateway's bucket.
	e.srv.SetFaults(emulator.Faults{RateLimit: 20, RateBurst: 1})
	e.srv.ResetStats()
	paced := e.newClient(func(o *talis.Options) { o.RateLimit, o.Burst = 8, 1 })
	start := time.Now()
	for range 6 {
		must(paced.HealthCheck(ctx))(t)
	}
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Errorf("6 calls at 8 req/s took %v", el)
	}
	if n := e.srv.Stats().Statuses["429"]; n != 0 {
		t.Errorf("paced client still got %d 429s", n)
	}
}

// TestServerErrorRetries injects a 500 on every route: idempotent calls are
// attempted MaxAttempts times, writes that are not idempotent exactly once.
func TestServerErrorRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, func(o *talis.Options) {
		o.Retry = talis.RetryPolicy{MaxAttempts: 3, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	})
	ctx := e.ctx
	e.mkProject(t, "flaky", admin)
	ids := idsOf(must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("flaky", admin, "do-mock", "f", 1)}))(t))
	e.waitStatus(t, ids, talis.InstanceStatusReady)
	id := fmt.Sprint(ids[0])

	type rc struct {
		method, route string
		attempts      int64
		call          func() error
	}
	e1 := func(_ any, err error) error { return err }
	cases := []rc{
		{"HealthCheck", "GET /health", 3, func() error { return e1(e.c.HealthCheck(ctx)) }},
		{"GetInstances", "GET /api/v1/instances", 3, func() error { return e1(e.c.GetInstances(ctx, nil)) }},
		{"GetInstancesMetadata", "GET /api/v1/instances/all-metadata", 3, func() error { return e1(e.c.GetInstancesMetadata(ctx, nil)) }},
		{"AdminGetInstances", "GET /api/v1/admin/instances", 3, func() error { return e1(e.c.AdminGetInstances(ctx)) }},
		{"AdminGetInstancesMetadata", "GET /api/v1/admin/instances/all-metadata", 3, func() error { return e1(e.c.AdminGetInstancesMetadata(ctx)) }},
		{"GetInstancesPublicIPs", "GET /api/v1/instances/public-ips", 3, func() error { return e1(e.c.GetInstancesPublicIPs(ctx, nil)) }},
		{"GetInstance", "GET /api/v1/instances/:id", 3, func() error { return e1(e.c.GetInstance(ctx, id)) }},
		{"ListTasksByInstanceID", "GET /api/v1/instances/:instance_id/tasks", 3, func() error {
			return e1(e.c.ListTasksByInstanceID(ctx, admin, ids[0], "", nil))
		}},
		{"DeleteInstances", "DELETE /api/v1/instances", 3, func() error {
			return e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "flaky", InstanceIDs: []uint{999}})
		}},
		{"GetProject", "RPC project.get", 3, func() error { return e1(e.c.GetProject(ctx, talis.ProjectGetParams{Name: "flaky", OwnerID: admin})) }},
		{"ListProjects", "RPC project.list", 3, func() error { return e1(e.c.ListProjects(ctx, talis.ProjectListParams{OwnerID: admin})) }},
		{"ListProjectInstances", "RPC project.listInstances", 3, func() error {
			return e1(e.c.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: "flaky", OwnerID: admin}))
		}},
		{"DeleteProject", "RPC project.delete", 3, func() error {
			return e.c.DeleteProject(ctx, talis.ProjectDeleteParams{Name: "none", OwnerID: admin})
		}},
		{"GetTask", "RPC task.get", 3, func() error { return e1(e.c.GetTask(ctx, talis.TaskGetParams{TaskID: 1, OwnerID: admin})) }},
		{"ListTasks", "RPC task.list", 3, func() error {
			return e1(e.c.ListTasks(ctx, talis.TaskListParams{ProjectName: "flaky", OwnerID: admin}))
		}},
		{"TerminateTask", "RPC task.terminate", 3, func() error { return e.c.TerminateTask(ctx, talis.TaskTerminateParams{TaskID: 99, OwnerID: admin}) }},
		{"GetUsers", "RPC user.get", 3, func() error { return e1(e.c.GetUsers(ctx, talis.UserGetParams{})) }},
		{"GetUserByID", "RPC user.get.id", 3, func() error { return e1(e.c.GetUserByID(ctx, talis.UserGetByIDParams{ID: 1})) }},
		{"ListSSHKeys", "RPC sshkey.list", 3, func() error { return e1(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 1})) }},
		// Not idempotent: one attempt, and the outcome is ambiguous.
		{"CreateInstance", "POST /api/v1/instances", 1, func() error {
			return e1(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("flaky", admin, "do-mock", "", 1)}))
		}},
		{"CreateProject", "RPC project.create", 1, func() error {
			return e1(e.c.CreateProject(ctx, talis.ProjectCreateParams{Name: "p2", OwnerID: admin}))
		}},
		{"CreateUser", "RPC user.create", 1, func() error { return e1(e.c.CreateUser(ctx, talis.CreateUserParams{Username: "u"})) }},
		{"DeleteUser", "RPC user.delete", 1, func() error { return e.c.DeleteUser(ctx, talis.DeleteUserParams{ID: 1}) }},
		{"CreateSSHKey", "RPC sshkey.create", 1, func() error {
			return e1(e.c.CreateSSHKey(ctx, talis.SSHKeyCreateParams{Name: "k", PublicKey: "ssh-rsa AAAA", OwnerID: 1}))
		}},
		{"DeleteSSHKey", "RPC sshkey.delete", 1, func() error {
			return e.c.DeleteSSHKey(ctx, talis.SSHKeyDeleteParams{Name: "k", OwnerID: 1})
		}},
	}
	for _, fault := range []struct {
		name   string
		rf     emulator.RouteFault
		status int
	}{
		{"500", emulator.RouteFault{ErrorRate: 1}, 500},
		{"gateway 502", emulator.RouteFault{GatewayErrorRate: 1}, 502},
	} {
		e.srv.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{"*": fault.rf}})
		ledger := len(e.srv.Ledger())
		for _, tc := range cases {
			before := e.requests(tc.route)
			err := tc.call()
			n := e.requests(tc.route) - before
			ae := apiErr(t, err)
			if ae.StatusCode != fault.status || !talis.IsRetryable(err) || n != tc.attempts {
				t.Errorf("%s %s: %v, IsRetryable=%v, %d attempts (want %d)", fault.name, tc.method, err, talis.IsRetryable(err), n, tc.attempts)
			}
			if tc.attempts == 1 && !talis.IsAmbiguous(err) {
				t.Errorf("%s %s: a %d on a write must be ambiguous", fault.name, tc.method, fault.status)
			}
		}
		if n := len(e.srv.Ledger()); n != ledger {
			t.Errorf("%s: injected faults created instances (%d → %d)", fault.name, ledger, n)
		}
	}

	// A 5xx followed by a success: the retry recovers.
	log := &callLog{}
	c := e.newClient(func(o *talis.Options) {
		o.Retry = talis.RetryPolicy{MaxAttempts: 3, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}
		o.Observer = log.observe
	})
	log.hook = func(ci talis.CallInfo) {
		if ci.Attempt == 1 && ci.StatusCode >= 500 {
			e.srv.SetFaults(emulator.Faults{}) // heal before the retry
		}
	}
	for _, rf := range []emulator.RouteFault{{ErrorRate: 1}, {GatewayErrorRate: 1, GatewayStatus: 503}} {
		e.srv.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{"GET /api/v1/instances/:id": rf}})
		in := must(c.GetInstance(ctx, id))(t)
		calls := log.take()
		if in.ID != ids[0] || len(calls) != 2 || calls[0].StatusCode < 500 || calls[1].StatusCode != 200 || calls[1].Attempt != 2 {
			t.Errorf("recovery after %+v: %+v", rf, calls)
		}
	}
}

// TestCommitThenDrop: the server commits the create, then the connection
// drops. The client must not retry, must call the failure ambiguous, and
// the instances must exist.
func TestCommitThenDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	e.mkProject(t, "amb", admin)

	e.srv.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
		"POST /api/v1/instances": {CommitThenDropRate: 1, Hang: 50 * time.Millisecond},
	}})
	ex := e.capture(func() {
		_, err := e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("amb", admin, "do-mock", "amb-unique", 2)})
		var ae *talis.APIError
		if err == nil || errors.As(err, &ae) || !talis.IsAmbiguous(err) || talis.IsNotFound(err) || talis.IsInvalid(err) {
			t.Errorf("dropped create: %v (IsAmbiguous=%v)", err, talis.IsAmbiguous(err))
		}
	})
	st := e.srv.Stats()
	if len(ex) != 1 || ex[0].Status != 0 || st.Requests["POST /api/v1/instances"] != 1 || st.Statuses["dropped"] != 1 {
		t.Errorf("dropped create: attempts %v, emulator %v %v", summarize(ex), st.Requests, st.Statuses)
	}
	var names []string
	for _, l := range e.srv.Ledger() {
		if l.Project == "amb" {
			names = append(names, l.Name)
		}
	}
	if strings.Join(names, ",") != "amb-unique-1,amb-unique-2" {
		t.Fatalf("ledger after the dropped create: %v", names)
	}
	// Recovery as §5.4 suggests: look the instances up by name.
	e.srv.SetFaults(emulator.Faults{})
	found := 0
	for in, err := range e.c.AllProjectInstances(ctx, "amb", admin) {
		noErr(t, err)
		if strings.HasPrefix(in.Name, "amb-unique-") {
			found++
		}
	}
	if found != 2 {
		t.Errorf("found %d of the dropped create's instances", found)
	}

	// A create that times out client-side is ambiguous too, applied or not.
	e.srv.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
		"POST /api/v1/instances": {TimeoutRate: 1, Hang: 2 * time.Second},
	}})
	impatient := e.newClient(func(o *talis.Options) { o.Timeout = 150 * time.Millisecond })
	ex = e.capture(func() {
		_, err := impatient.CreateInstance(ctx, []talis.InstanceRequest{instReq("amb", admin, "do-mock", "late", 1)})
		if !talis.IsAmbiguous(err) || !talis.IsRetryable(err) {
			t.Errorf("timed-out create: %v", err)
		}
	})
	if len(ex) != 1 {
		t.Errorf("timed-out create sent %d times", len(ex))
	}
}

// TestRestart: a GET during the emulator's downtime is retried until it
// is back; a create during downtime fails unambiguously (never sent).
func TestRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	e.mkProject(t, "rs", admin)
	ids := idsOf(must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("rs", admin, "do-mock", "rs", 2)}))(t))
	e.waitStatus(t, ids, talis.InstanceStatusReady)

	log := &callLog{}
	patient := e.newClient(func(o *talis.Options) {
		o.Observer = log.observe
		o.Retry = talis.RetryPolicy{MaxAttempts: 30, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	})
	host := strings.TrimPrefix(e.url, "http://")
	done := make(chan error, 1)
	go func() { done <- e.srv.RestartFor(800 * time.Millisecond) }()
	eventually(t, "emulator down", func() bool {
		c, err := net.DialTimeout("tcp", host, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})

	// A fresh client (no pooled connection) dials and is refused.
	fresh := e.newClient(nil)
	before := len(e.srv.Ledger())
	_, err := fresh.CreateInstance(ctx, []talis.InstanceRequest{instReq("rs", admin, "do-mock", "down", 1)})
	if err == nil || talis.IsAmbiguous(err) || !talis.IsRetryable(err) {
		t.Errorf("create while down: %v IsAmbiguous=%v", err, talis.IsAmbiguous(err))
	}

	rows := must(patient.GetInstances(ctx, nil))(t)
	if !sameSet(sortedIDs(rows), ids) {
		t.Errorf("after restart GetInstances = %v, want %v", sortedIDs(rows), ids)
	}
	calls := log.take()
	if len(calls) < 2 || calls[0].StatusCode != 0 || calls[0].Err == nil || calls[len(calls)-1].StatusCode != 200 {
		t.Errorf("GET during downtime: %+v", calls)
	}
	noErr(t, <-done)
	if st := e.srv.Stats(); st.Restarts != 1 {
		t.Errorf("restarts = %d", st.Restarts)
	}
	if n := len(e.srv.Ledger()); n != before {
		t.Errorf("refused create reached the server (%d → %d)", before, n)
	}
	// The worker is back too.
	more := idsOf(must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("rs", admin, "do-mock", "after", 1)}))(t))
	e.waitStatus(t, more, talis.InstanceStatusReady)
}

func sameSet(a, b []uint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
