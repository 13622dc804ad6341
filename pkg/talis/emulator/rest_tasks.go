/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"net/http"
	"slices"
	"strconv"
)

// instanceTasks is GET /api/v1/instances/:instance_id/tasks. Whatever the
// caller sends, only tasks owned by AdminID are visible.
func (s *Server) instanceTasks(c *reqCtx) {
	iid, err := strconv.Atoi(c.param)
	if err != nil || iid <= 0 {
		writeInvalid(c.w, "Invalid or missing instance_id parameter")
		return
	}
	q := c.r.URL.Query()
	limit := queryInt(q, "limit", 100)
	if limit < 0 {
		writeInvalid(c.w, "limit must be a non-negative number")
		return
	}
	offset := queryInt(q, "offset", 0)
	if offset < 0 {
		writeInvalid(c.w, "offset must be a non-negative number")
		return
	}
	if offset > 0 && limit == 0 {
		writeInvalid(c.w, "limit must be set when offset is used")
		return
	}
	var action uint8
	if a := q.Get("action"); a != "" {
		switch a {
		case "create_instances":
			action = actCreate
		case "terminate_instances":
			action = actTerminate
		default:
			writeInvalid(c.w, "invalid task action: "+a)
			return
		}
	}

	type row struct {
		id uint64
		t  task
	}
	var found []row
	var in instance
	st := s.st
	st.mu.RLock()
	if uint64(iid) <= uint64(len(st.instances)) {
		in = st.instances[iid-1]
		ids := append([]uint64{in.createTask}, st.termTasks[uint64(iid)]...)
		for _, tid := range ids {
			if tid == 0 {
				continue
			}
			t := st.tasks[tid-1]
			if t.ownerID == AdminID && (action == 0 || t.action == action) {
				found = append(found, row{tid, t})
			}
		}
	}
	st.mu.RUnlock()

	// ORDER BY created_at DESC (id breaks ties).
	slices.SortFunc(found, func(a, b row) int {
		if a.t.createdAt != b.t.createdAt {
			if a.t.createdAt > b.t.createdAt {
				return -1
			}
			return 1
		}
		if a.id > b.id {
			return -1
		}
		return 1
	})
	if offset > 0 {
		found = found[min(offset, len(found)):]
	}
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	rows := make([]Task, len(found))
	for i := range found {
		rows[i] = renderTask(found[i].id, &found[i].t, &in, s.cfg.LockDuration)
	}
	page := 0
	if limit > 0 {
		page = offset/limit + 1
	}
	writeSlug(c.w, http.StatusOK, slugSuccess, "", ListResponse[Task]{
		Rows:       rows,
		Pagination: Pagination{Total: len(rows), Page: page, Limit: limit, Offset: offset},
	})
}

const swaggerHTML = `<!DOCTYPE html>
<html><head><title>Talis API</title></head>
<body><div id="swagger-ui"></div><p>Swagger UI (emulated). Spec: <a href="/swagger/doc.json">/swagger/doc.json</a></p></body></html>
`

const swaggerDoc = `{"swagger":"2.0","info":{"title":"Talis API","version":"1.0"},"host":"localhost:8000","basePath":"/talis/api/v1","schemes":["http"],"paths":{}}`
