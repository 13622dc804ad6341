package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx

	proj := e.mkProject(t, "jobs", admin)
	ids := idsOf(must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("jobs", admin, "do-mock", "job", 2)}))(t))
	e.waitStatus(t, ids, talis.InstanceStatusReady)
	tasksPath := func(id uint) string { return fmt.Sprintf("/api/v1/instances/%d/tasks", id) }
	const route = "GET /api/v1/instances/{id}/tasks"

	// Instance tasks as the admin owner.
	var tasks []*talis.Task
	x := e.one(t, func() { tasks = must(e.c.ListTasksByInstanceID(ctx, admin, ids[0], "", nil))(t) })
	e.checkREST(t, x, route, tasksPath(ids[0]), url.Values{"owner_id": {"4294967295"}})
	if len(tasks) != 1 {
		t.Fatalf("instance %d has %d tasks, want 1", ids[0], len(tasks))
	}
	ct := tasks[0]
	var payload map[string]json.RawMessage
	_ = json.Unmarshal(ct.Payload, &payload)
	if ct.Action != talis.TaskActionCreateInstances || ct.Status != talis.TaskStatusCompleted || ct.InstanceID != ids[0] ||
		ct.ProjectID != proj.ID || ct.Priority != talis.TaskPriorityHigh || ct.OwnerID != admin || ct.Attempts != 1 ||
		ct.Logs == "" || ct.Logs[0] != '\n' || ct.Error != "" || ct.CreatedAt.IsZero() {
		t.Errorf("create task = %+v", *ct)
	}
	jsonIs(t, "payload.instance_id", payload["instance_id"], ids[0])
	jsonIs(t, "payload.action", payload["action"], "create")
	// Upstream stores the request's name, not the instance's "job-1", and
	// numbers instances after the first with instance_index.
	jsonIs(t, "payload.name", payload["name"], "job")
	if _, ok := payload["instance_index"]; ok {
		t.Errorf("first instance's payload has instance_index %s", payload["instance_index"])
	}
	second := must(e.c.ListTasksByInstanceID(ctx, admin, ids[1], "create_instances", nil))(t)
	var p2 map[string]json.RawMessage
	_ = json.Unmarshal(second[0].Payload, &p2)
	jsonIs(t, "second payload.name", p2["name"], "job")
	jsonIs(t, "second payload.instance_index", p2["instance_index"], 1)
	jsonIs(t, "second payload.instance_id", p2["instance_id"], ids[1])

	var raw struct {
		Slug string                               `json:"slug"`
		Data emulator.ListResponse[emulator.Task] `json:"data"`
	}
	e.rawGet(t, tasksPath(ids[0]), &raw)
	if raw.Slug != "success" || len(raw.Data.Rows) != 1 {
		t.Fatalf("raw instance tasks: %+v", raw)
	}
	sameTask(t, ct, raw.Data.Rows[0])

	// The owner sent is ignored: any owner sees the admin's tasks.
	x = e.one(t, func() { tasks = must(e.c.ListTasksByInstanceID(ctx, 1, ids[0], "", nil))(t) })
	e.checkREST(t, x, route, tasksPath(ids[0]), url.Values{"owner_id": {"1"}})
	if len(tasks) != 1 || tasks[0].ID != ct.ID {
		t.Errorf("owner 1 sees %d tasks", len(tasks))
	}
	// Action filter and paging.
	for _, tc := range []struct {
		action string
		opts   *talis.ListOptions
		query  url.Values
		n      int
	}{
		{"create_instances", nil, url.Values{"action": {"create_instances"}}, 1},
		{"terminate_instances", nil, url.Values{"action": {"terminate_instances"}}, 0},
		{"", &talis.ListOptions{Limit: 1}, url.Values{"limit": {"1"}}, 1},
		{"", &talis.ListOptions{Limit: 1, Offset: 1}, url.Values{"limit": {"1"}, "offset": {"1"}}, 0},
		{"", &talis.ListOptions{Limit: talis.NoLimit}, url.Values{"limit": {"0"}}, 1},
		// Instance-list options the route does not read are not sent.
		{"", &talis.ListOptions{IncludeDeleted: true}, url.Values{}, 1},
	} {
		x := e.one(t, func() { tasks = must(e.c.ListTasksByInstanceID(ctx, admin, ids[0], tc.action, tc.opts))(t) })
		tc.query.Set("owner_id", "4294967295")
		e.checkREST(t, x, route, tasksPath(ids[0]), tc.query)
		if len(tasks) != tc.n {
			t.Errorf("tasks %v: %d rows, want %d", tc.query, len(tasks), tc.n)
		}
	}

	// task.get
	var got talis.Task
	x = e.one(t, func() { got = must(e.c.GetTask(ctx, talis.TaskGetParams{TaskID: ct.ID, OwnerID: admin}))(t) })
	params := e.checkRPC(t, x, "task.get")
	jsonIs(t, "task_id", params["task_id"], ct.ID)
	jsonIs(t, "owner_id", params["owner_id"], admin)
	var rawTask emulator.Task
	e.rawRPC(t, "task.get", map[string]any{"task_id": ct.ID, "owner_id": admin}, &rawTask)
	sameTask(t, &got, rawTask)
	// The owner is required but ignored.
	if got2 := must(e.c.GetTask(ctx, talis.TaskGetParams{TaskID: ct.ID, OwnerID: 12}))(t); got2.ID != ct.ID {
		t.Errorf("task.get as owner 12 = %+v", got2)
	}

	// task.list with its camelCase projectName.
	var list []*talis.Task
	x = e.one(t, func() { list = must(e.c.ListTasks(ctx, talis.TaskListParams{ProjectName: "jobs", OwnerID: admin}))(t) })
	params = e.checkRPC(t, x, "task.list")
	jsonIs(t, "projectName", params["projectName"], "jobs")
	var rawList emulator.ListResponse[emulator.Task]
	e.rawRPC(t, "task.list", map[string]any{"projectName": "jobs", "owner_id": admin}, &rawList)
	if len(list) != 2 || len(rawList.Rows) != 2 {
		t.Fatalf("task.list: %d tasks, emulator %d, want 2", len(list), len(rawList.Rows))
	}
	// task.list has no ORDER BY: match rows by id.
	for _, got := range list {
		for _, want := range rawList.Rows {
			if want.ID == got.ID {
				sameTask(t, got, want)
			}
		}
	}
	if p2 := must(e.c.ListTasks(ctx, talis.TaskListParams{ProjectName: "jobs", OwnerID: admin, Page: 2}))(t); len(p2) != 0 {
		t.Errorf("task.list page 2 = %d rows", len(p2))
	}

	// Terminating instance 0 adds a terminate task, listed first.
	noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "jobs", InstanceIDs: ids[:1]}))
	e.waitStatus(t, ids[:1], talis.InstanceStatusTerminated)
	eventually(t, "terminate task completed", func() bool {
		tasks = must(e.c.ListTasksByInstanceID(ctx, admin, ids[0], "terminate_instances", nil))(t)
		return len(tasks) == 1 && tasks[0].Status == talis.TaskStatusCompleted
	})
	tt := tasks[0]
	// Upstream's terminate tasks log nothing: the client gets "".
	if tt.Action != talis.TaskActionTerminateInstances || tt.Priority != talis.TaskPriorityLow || tt.InstanceID != ids[0] || tt.Logs != "" {
		t.Errorf("terminate task = %+v", *tt)
	}
	jsonIs(t, "terminate payload", tt.Payload, map[string]any{"instance_id": ids[0]})
	tasks = must(e.c.ListTasksByInstanceID(ctx, admin, ids[0], "", nil))(t)
	if len(tasks) != 2 || tasks[0].ID != tt.ID || tasks[1].ID != ct.ID {
		t.Errorf("instance tasks not newest first: %v", taskIDs(tasks))
	}
	if p := must(e.c.ListTasksByInstanceID(ctx, admin, ids[0], "", &talis.ListOptions{Limit: 1, Offset: 1}))(t); len(p) != 1 || p[0].ID != ct.ID {
		t.Errorf("second page = %v, want [%d]", taskIDs(p), ct.ID)
	}

	// task.terminate flips any task, even a completed one; a miss is a no-op.
	other := must(e.c.ListTasksByInstanceID(ctx, admin, ids[1], "", nil))(t)[0]
	x = e.one(t, func() { noErr(t, e.c.TerminateTask(ctx, talis.TaskTerminateParams{TaskID: other.ID, OwnerID: admin})) })
	params = e.checkRPC(t, x, "task.terminate")
	jsonIs(t, "task_id", params["task_id"], other.ID)
	if g := must(e.c.GetTask(ctx, talis.TaskGetParams{TaskID: other.ID, OwnerID: admin}))(t); g.Status != talis.TaskStatusTerminated {
		t.Errorf("after task.terminate status = %s", g.Status)
	}
	noErr(t, e.c.TerminateTask(ctx, talis.TaskTerminateParams{TaskID: 999999, OwnerID: admin}))

	// task.updateStatus is recognised but not implemented.
	x = e.one(t, func() {
		err := e.c.UpdateTaskStatus(ctx, talis.TaskUpdateStatusParams{TaskID: ct.ID, Status: talis.TaskStatusFailed, OwnerID: admin})
		ae := apiErr(t, err)
		if !errors.Is(err, talis.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) || talis.IsInvalid(err) ||
			talis.IsRetryable(err) || talis.IsAmbiguous(err) || ae.StatusCode != 400 || ae.Message != "Unknown task method" {
			t.Errorf("UpdateTaskStatus: %v (status %d)", err, ae.StatusCode)
		}
	})
	params = e.checkRPC(t, x, "task.updateStatus")
	jsonIs(t, "status", params["status"], "failed")

	// Tasks of any other owner are invisible.
	e.mkProject(t, "private", 7)
	pid := must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("private", 7, "do-mock", "", 1)}))(t)[0].ID
	e.waitStatus(t, []uint{pid}, talis.InstanceStatusReady)
	if ts := must(e.c.ListTasksByInstanceID(ctx, 7, pid, "", nil))(t); len(ts) != 0 {
		t.Errorf("owner 7's instance tasks visible: %v", taskIDs(ts))
	}
	_, err := e.c.ListTasks(ctx, talis.TaskListParams{ProjectName: "private", OwnerID: 7})
	if ae := wantNotFound(t, err, 500); ae.Message != "Failed to list tasks" {
		t.Errorf("task.list of a non-admin project: %v", err)
	}
	// Task ids are sequential: the private create task is the next one.
	_, err = e.c.GetTask(ctx, talis.TaskGetParams{TaskID: tt.ID + 1, OwnerID: 7})
	if ae := wantNotFound(t, err, 404); ae.Message != "Task not found" {
		t.Errorf("task.get of a non-admin task: %v", err)
	}

	// Validation, with the server's exact messages.
	wantInvalid(t, e.c.TerminateTask(ctx, talis.TaskTerminateParams{OwnerID: admin}), 400, "task_id is required and must be a positive number")
	_, err = e.c.GetTask(ctx, talis.TaskGetParams{TaskID: 0, OwnerID: admin})
	wantInvalid(t, err, 400, "task_id is required and must be a positive number")
	_, err = e.c.GetTask(ctx, talis.TaskGetParams{TaskID: ct.ID})
	wantInvalid(t, err, 400, "task owner_id is required")
	_, err = e.c.ListTasks(ctx, talis.TaskListParams{OwnerID: admin})
	wantInvalid(t, err, 400, "project name is required")
	_, err = e.c.ListTasksByInstanceID(ctx, admin, ids[0], "bogus", nil)
	wantInvalid(t, err, 400, "invalid task action: bogus")
	_, err = e.c.ListTasksByInstanceID(ctx, admin, 0, "", nil)
	wantInvalid(t, err, 400, "Invalid or missing instance_id parameter")
	_, err = e.c.ListTasksByInstanceID(ctx, admin, ids[0], "", &talis.ListOptions{Limit: talis.NoLimit, Offset: 1})
	wantInvalid(t, err, 400, "limit must be set when offset is used")
	// Not found.
	_, err = e.c.GetTask(ctx, talis.TaskGetParams{TaskID: 999999, OwnerID: admin})
	wantNotFound(t, err, 404)
	_, err = e.c.ListTasks(ctx, talis.TaskListParams{ProjectName: "nosuch", OwnerID: admin})
	wantNotFound(t, err, 500)
	if ts := must(e.c.ListTasksByInstanceID(ctx, admin, 999999, "", nil))(t); len(ts) != 0 {
		t.Errorf("tasks of a missing instance: %v", taskIDs(ts))
	}
}

func taskIDs(ts []*talis.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strconv.Itoa(int(t.ID)) + ":" + string(t.Action)
	}
	return out
}
