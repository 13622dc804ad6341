package talis

import (
	"context"
	"net/http"
	"strconv"
)

// ListTasksByInstanceID lists the tasks of an instance, newest first.
// actionFilter is "" or a TaskAction. The server only ever shows tasks owned
// by AdminOwnerID; ownerID is sent (as upstream does) but ignored.
func (c *APIClient) ListTasksByInstanceID(ctx context.Context, ownerID uint, instanceID uint, actionFilter string, opts *ListOptions) ([]*Task, error) {
	const route = "GET /api/v1/instances/{id}/tasks"
	q, err := opts.query()
	if err != nil {
		return nil, err
	}
	q.Del("status")
	q.Del("include_deleted")
	q.Set("owner_id", strconv.FormatUint(uint64(ownerID), 10))
	if actionFilter != "" {
		q.Set("action", actionFilter)
	}
	path := "/api/v1/instances/" + strconv.FormatUint(uint64(instanceID), 10) + "/tasks"
	resp, err := c.do(ctx, call{method: "ListTasksByInstanceID", route: route, httpMethod: http.MethodGet,
		path: path, query: q, idempotent: true})
	if err != nil {
		return nil, err
	}
	tasks, err := decodeTaskListSlug(resp.body)
	if err != nil {
		return nil, decodeFailure(route, err)
	}
	for _, t := range tasks {
		t.OwnerID = AdminOwnerID
	}
	return tasks, nil
}

// GetTask reads a task. Only tasks owned by AdminOwnerID are visible; the
// server requires a non-zero OwnerID but ignores it.
func (c *APIClient) GetTask(ctx context.Context, params TaskGetParams) (Task, error) {
	var t Task
	err := c.callRPC(ctx, "GetTask", RPCTaskGet, params, &t, true)
	if err == nil {
		t.OwnerID = AdminOwnerID
	}
	return t, err
}

// ListTasks returns one page (RPCPageSize) of the project's tasks; the
// project is looked up as owned by AdminOwnerID whatever OwnerID says, and an
// unknown project is a 500 that IsNotFound recognises. See AllTasks.
func (c *APIClient) ListTasks(ctx context.Context, params TaskListParams) ([]*Task, error) {
	var l ListResponse[*Task]
	if err := c.callRPC(ctx, "ListTasks", RPCTaskList, params, &l, false); err != nil {
		return nil, err
	}
	rows := compact(l.Rows)
	for _, t := range rows {
		t.OwnerID = AdminOwnerID
	}
	return rows, nil
}

// TerminateTask marks a task terminated. The server reports success even when
// no task matched, and does not stop a worker already running it.
func (c *APIClient) TerminateTask(ctx context.Context, params TaskTerminateParams) error {
	return c.callRPC(ctx, "TerminateTask", RPCTaskTerminate, params, nil, false)
}

// UpdateTaskStatus is sent as upstream does, but the server answers every
// task.updateStatus with 400 "Unknown task method"; the returned error then
// matches ErrUnsupported.
func (c *APIClient) UpdateTaskStatus(ctx context.Context, params TaskUpdateStatusParams) error {
	return c.callRPC(ctx, "UpdateTaskStatus", RPCTaskUpdateStatus, params, nil, false)
}
