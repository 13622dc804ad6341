/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// queryInt and queryBool mirror Fiber's QueryInt/QueryBool: anything
// unparseable (including absent) yields the default.
func queryInt(q url.Values, key string, def int) int {
	v, err := strconv.Atoi(q.Get(key))
	if err != nil {
		return def
	}
	return v
}

func queryBool(q url.Values, key string, def bool) bool {
	v, err := strconv.ParseBool(q.Get(key))
	if err != nil {
		return def
	}
	return v
}

type instanceFilter struct {
	limit, offset  int
	includeDeleted bool
	status         int // -1: none
}

// parseListQuery reads limit/offset/include_deleted (+status when wanted);
// a bad status answers 400 and returns false.
func parseListQuery(c *reqCtx, withStatus bool) (instanceFilter, bool) {
	q := c.r.URL.Query()
	f := instanceFilter{
		limit:          queryInt(q, "limit", 100),
		offset:         queryInt(q, "offset", 0),
		includeDeleted: queryBool(q, "include_deleted", false),
		status:         -1,
	}
	if v := q.Get("status"); withStatus && v != "" {
		st, ok := parseInstanceStatus(v)
		if !ok {
			writeInvalid(c.w, "invalid instance status: invalid instance status: "+v)
			return f, false
		}
		f.status = int(st)
	}
	return f, true
}

// selectInstances copies matching rows in heap order (see scanorder.go),
// offset/limit applied.
func (s *Server) selectInstances(f instanceFilter) ([]uint64, []instance) {
	st := s.st
	st.mu.RLock()
	defer st.mu.RUnlock()
	skip := max(f.offset, 0)
	var ids []uint64
	var rows []instance
	st.scan.each(len(st.instances), func(id uint64) bool {
		in := &st.instances[id-1]
		if f.status >= 0 {
			if int(in.status) != f.status {
				return true
			}
		} else if !f.includeDeleted && in.status == stTerminated {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		ids = append(ids, id)
		rows = append(rows, *in)
		return f.limit <= 0 || len(rows) < f.limit
	})
	return ids, rows
}

// listInstances serves the list and all-metadata routes (status is
// ignored by all-metadata). Rows are streamed; the bytes equal
// json.Marshal of ListResponse[Instance].
func (s *Server) listInstances(c *reqCtx, withStatus bool) {
	f, ok := parseListQuery(c, withStatus)
	if !ok {
		return
	}
	ids, rows := s.selectInstances(f)
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.w, 64<<10)
	_, _ = bw.WriteString(`{"rows":[`)
	for i := range rows {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		b, _ := json.Marshal(renderInstance(ids[i], &rows[i]))
		_, _ = bw.Write(b)
	}
	p, _ := json.Marshal(Pagination{Total: len(rows), Page: 1, Limit: f.limit, Offset: f.offset})
	_, _ = bw.WriteString(`],"pagination":`)
	_, _ = bw.Write(p)
	_ = bw.WriteByte('}')
	_ = bw.Flush()
}

func (s *Server) publicIPs(c *reqCtx) {
	f, _ := parseListQuery(c, false)
	_, rows := s.selectInstances(f)
	ips := make([]PublicIP, len(rows))
	for i := range rows {
		ips[i].PublicIP = ipString(rows[i].ip)
	}
	writeJSON(c.w, http.StatusOK, PublicIPsResponse{
		PublicIPs:  ips,
		Pagination: Pagination{Total: len(rows), Page: 1, Limit: f.limit, Offset: f.offset},
	})
}

func (s *Server) getInstance(c *reqCtx) {
	id, err := strconv.Atoi(c.param)
	if err != nil {
		writeInvalid(c.w, "instance id is required: failed to convert: "+err.Error())
		return
	}
	if id <= 0 {
		writeInvalid(c.w, "instance id must be positive")
		return
	}
	s.st.mu.RLock()
	var in instance
	found := uint64(id) <= uint64(len(s.st.instances))
	if found {
		in = s.st.instances[id-1]
	}
	s.st.mu.RUnlock()
	if !found {
		writePlain(c.w, http.StatusInternalServerError, "failed to get instance: failed to get instance: record not found")
		return
	}
	writeJSON(c.w, http.StatusOK, renderInstance(uint64(id), &in))
}

func (s *Server) terminateInstances(c *reqCtx) {
	var req DeleteInstancesRequest
	if err := decodeBody(c.r, c.body, &req); err != nil {
		writeInvalid(c.w, decodeMsg(err))
		return
	}
	if req.ProjectName == "" || len(req.InstanceIDs) == 0 {
		writePlain(c.w, http.StatusBadRequest, "project name and instance IDs are required")
		return
	}
	owner := uint64(req.OwnerID)
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	// owner 0 matches the project by name only (GORM drops zero fields).
	pid, p := st.liveProject(owner, req.ProjectName)
	if p == nil {
		writePlain(c.w, http.StatusInternalServerError,
			fmt.Sprintf("failed to terminate instances: failed to get project '%s': record not found", req.ProjectName))
		return
	}
	ids := make([]uint64, 0, len(req.InstanceIDs))
	for _, id := range req.InstanceIDs {
		ids = append(ids, uint64(id))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids) // duplicate ids collapse, as with IN (...)
	now := nowNano()
	for _, id := range ids {
		if id == 0 || id > uint64(len(st.instances)) || st.instances[id-1].spec.projectID != pid {
			continue
		}
		in := &st.instances[id-1]
		if owner != 0 && owner != AdminID && in.spec.ownerID != owner {
			continue
		}
		tid := st.addTask(task{
			ownerID: owner, projectID: pid, instanceID: id,
			createdAt: now, updatedAt: now, action: actTerminate, status: tsPending,
		})
		st.termTasks[id] = append(st.termTasks[id], tid)
		s.schedulePickup(tid, &st.tasks[tid-1])
	}
	writeSlug(c.w, http.StatusOK, slugSuccess, "", nil)
}
