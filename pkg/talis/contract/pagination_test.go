package contract

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// TestPagination: the iterators see every row, across more than 100 REST
// rows (limit/offset) and more than 50 RPC rows (fixed pages of 50).
func TestPagination(t *testing.T) {
	t.Parallel()
	// The worker changes rows while this pages; a stable order keeps the
	// page checks exact (TestPagingWhileRowsChange covers the other case).
	e := newEnv(t, emulator.Config{StableListOrder: true}, nil)
	ctx := e.ctx

	e.mkProject(t, "bulk", admin)
	must(e.c.CreateInstance(ctx, []talis.InstanceRequest{
		instReq("bulk", admin, "do-mock", "b", 130),
		instReq("bulk", admin, "do-mock", "c", 5),
	}))(t)
	var want []uint
	for _, l := range e.srv.Ledger() {
		want = append(want, uint(l.ID))
	}
	if len(want) != 135 {
		t.Fatalf("ledger holds %d instances", len(want))
	}

	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		opts    talis.ListOptions
		queries []url.Values
		want    []uint
	}{
		{"default page size", talis.ListOptions{}, []url.Values{q("limit", "100"), q("limit", "100", "offset", "100")}, want},
		{"limit 40", talis.ListOptions{Limit: 40}, []url.Values{q("limit", "40"), q("limit", "40", "offset", "40"),
			q("limit", "40", "offset", "80"), q("limit", "40", "offset", "120")}, want},
		// 135 = 3 × 45: a fourth, empty page proves the end.
		{"limit 45", talis.ListOptions{Limit: 45}, []url.Values{q("limit", "45"), q("limit", "45", "offset", "45"),
			q("limit", "45", "offset", "90"), q("limit", "45", "offset", "135")}, want},
		{"NoLimit", talis.ListOptions{Limit: talis.NoLimit}, []url.Values{q("limit", "0")}, want},
		{"from offset 130", talis.ListOptions{Offset: 130}, []url.Values{q("limit", "100", "offset", "130")}, want[130:]},
	} {
		var rows []*talis.Instance
		ex := e.capture(func() { rows = must(e.c.ListAllInstances(ctx, tc.opts))(t) })
		if got := sortedIDs(rows); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %d rows (%v…), want %d", tc.name, len(got), got[:min(len(got), 5)], len(tc.want))
		}
		if len(ex) != len(tc.queries) {
			t.Fatalf("%s: requests %v", tc.name, summarize(ex))
		}
		for i, x := range ex {
			e.checkREST(t, x, "GET /api/v1/instances", "/api/v1/instances", tc.queries[i])
		}
	}
	// Stopping early stops paging.
	ex := e.capture(func() {
		n := 0
		for _, err := range e.c.AllInstances(ctx, talis.ListOptions{Limit: 10}) {
			noErr(t, err)
			if n++; n == 3 {
				break
			}
		}
	})
	if len(ex) != 1 {
		t.Errorf("early break: %d requests", len(ex))
	}

	// RPC lists: fixed pages of 50, requested as page 1, 2, 3.
	checkPages := func(t *testing.T, ex []exchange, method string, pages int) {
		t.Helper()
		if len(ex) != pages {
			t.Fatalf("%s: %d requests, want %d", method, len(ex), pages)
		}
		for i, x := range ex {
			jsonIs(t, method+" page", e.checkRPC(t, x, method)["page"], i+1)
		}
	}
	var pi []*talis.Instance
	ex = e.capture(func() { pi = must(e.c.ListAllProjectInstances(ctx, "bulk", admin))(t) })
	checkPages(t, ex, "project.listInstances", 3)
	if !slices.Equal(sortedIDs(pi), want) {
		t.Errorf("AllProjectInstances: %d rows", len(pi))
	}

	var tasks []*talis.Task
	ex = e.capture(func() { tasks = must(e.c.ListAllTasks(ctx, "bulk", admin))(t) })
	checkPages(t, ex, "task.list", 3)
	var taskInstances []uint
	for _, tk := range tasks {
		taskInstances = append(taskInstances, tk.InstanceID)
	}
	slices.Sort(taskInstances)
	if !slices.Equal(taskInstances, want) {
		t.Errorf("AllTasks: %d tasks", len(tasks))
	}

	var names []string
	for i := range 55 {
		names = append(names, fmt.Sprintf("proj-%02d", i))
		e.mkProject(t, names[i], 5)
	}
	e.mkProject(t, "other-owner", 6)
	var projects []*talis.Project
	ex = e.capture(func() { projects = must(e.c.ListAllProjects(ctx, 5))(t) })
	checkPages(t, ex, "project.list", 2)
	var got []string
	for _, p := range projects {
		if p.OwnerID != 5 {
			t.Errorf("project %s: OwnerID %d", p.Name, p.OwnerID)
		}
		got = append(got, p.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Errorf("AllProjects: %v", got)
	}

	var usernames []string
	for i := range 55 {
		usernames = append(usernames, fmt.Sprintf("user-%02d", i))
		must(e.c.CreateUser(ctx, talis.CreateUserParams{Username: usernames[i]}))(t)
	}
	var users []*talis.User
	ex = e.capture(func() { users = must(e.c.ListAllUsers(ctx))(t) })
	checkPages(t, ex, "user.get", 2)
	got = got[:0]
	for _, u := range users {
		got = append(got, u.Username)
	}
	slices.Sort(got)
	if !slices.Equal(got, usernames) {
		t.Errorf("AllUsers: %d users", len(got))
	}
	// The raw second page agrees with the iterator's view of it.
	var raw emulator.UserResponse
	e.rawRPC(t, "user.get", map[string]any{"page": 2}, &raw)
	if len(raw.Users) != 5 || raw.Pagination == nil || raw.Pagination.Offset != 50 {
		b, _ := json.Marshal(raw)
		t.Errorf("raw user.get page 2: %s", b)
	}
}

// Upstream pages with LIMIT/OFFSET and no ORDER BY: rows that change
// while AllInstances pages can be skipped (and repeated, which the client
// drops). Only a NoLimit list is a snapshot.
func TestPagingWhileRowsChange(t *testing.T) {
	t.Parallel()
	// Creates never get past pending; terminates are quick.
	stuck := emulator.Delays{Pickup: time.Millisecond, Create: time.Hour, Ready: time.Hour, Provision: time.Hour, Terminate: time.Millisecond}
	e := newEnv(t, emulator.Config{Delays: stuck}, nil)
	ctx := e.ctx
	e.mkProject(t, "churn", admin)
	must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("churn", admin, "do", "c", 20)}))(t)

	var seen []uint
	for in, err := range e.c.AllInstances(ctx, talis.ListOptions{Limit: 5, IncludeDeleted: true}) {
		noErr(t, err)
		seen = append(seen, in.ID)
		if len(seen) == 5 { // terminate the rows read so far before the next page
			noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "churn", InstanceIDs: seen}))
			e.waitStatus(t, seen, talis.InstanceStatusTerminated)
		}
	}
	if got := slices.Clone(seen); len(slices.Compact(sortedUints(got))) != len(seen) {
		t.Errorf("AllInstances yielded a row twice: %v", seen)
	}
	if len(seen) >= 20 {
		t.Errorf("paging while rows moved saw all %d rows; upstream (and the emulator) skip rows", len(seen))
	}
	all := must(e.c.ListAllInstances(ctx, talis.ListOptions{Limit: talis.NoLimit, IncludeDeleted: true}))(t)
	if len(all) != 20 {
		t.Errorf("NoLimit list: %d rows, want 20", len(all))
	}
}

func sortedUints(v []uint) []uint { slices.Sort(v); return v }

// task.list and project.listInstances page without ORDER BY as well:
// rows updated between two pages can be skipped (measured upstream: 13
// of 1,332 listInstances pagings while instances went ready); the
// iterators drop repeats but cannot see skipped rows.
//
// Not parallel: 120 instances with no dispatch cap would crowd the
// paced-client checks of TestRateLimited429 off the CPU.
func TestRPCPagingWhileRowsChange(t *testing.T) {
	// Creates are picked up, then stay pending; terminates are quick.
	stuck := emulator.Delays{Pickup: time.Millisecond, Create: time.Hour, Ready: time.Hour, Provision: time.Hour, Terminate: time.Millisecond}
	e := newEnv(t, emulator.Config{Delays: stuck, TasksPerSecond: -1}, nil)
	ctx := e.ctx

	e.mkProject(t, "churn-i", admin)
	must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("churn-i", admin, "do", "i", 60)}))(t)
	var seen []uint
	for in, err := range e.c.AllProjectInstances(ctx, "churn-i", admin) {
		noErr(t, err)
		seen = append(seen, in.ID)
		if len(seen) == 50 { // terminate the first page before the second
			noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "churn-i", InstanceIDs: seen}))
			e.waitStatus(t, seen, talis.InstanceStatusTerminated)
		}
	}
	if len(slices.Compact(sortedUints(slices.Clone(seen)))) != len(seen) || len(seen) >= 60 {
		t.Errorf("AllProjectInstances while rows moved: %d rows (%v); want no repeats and some skipped", len(seen), seen)
	}

	e.mkProject(t, "churn-t", admin)
	must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("churn-t", admin, "do-mock", "t", 60)}))(t)
	seen = seen[:0]
	for tk, err := range e.c.AllTasks(ctx, "churn-t", admin) {
		noErr(t, err)
		seen = append(seen, tk.ID)
		if len(seen) == 50 {
			for _, id := range seen {
				noErr(t, e.c.TerminateTask(ctx, talis.TaskTerminateParams{TaskID: id, OwnerID: admin}))
			}
		}
	}
	if len(slices.Compact(sortedUints(slices.Clone(seen)))) != len(seen) || len(seen) >= 60 {
		t.Errorf("AllTasks while rows moved: %d rows (%v); want no repeats and some skipped", len(seen), seen)
	}
}
