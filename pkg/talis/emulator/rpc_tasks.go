/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import "net/http"

// TaskGetParams are task.get's params (owner_id required but ignored).
type TaskGetParams struct {
	TaskID  uint `json:"task_id"`
	OwnerID uint `json:"owner_id"`
}

// TaskListParams are task.list's params; note the camelCase projectName.
type TaskListParams struct {
	ProjectName string `json:"projectName"`
	OwnerID     uint   `json:"owner_id"`
	Page        int    `json:"page,omitempty"`
}

// TaskTerminateParams are task.terminate's params.
type TaskTerminateParams struct {
	TaskID  uint `json:"task_id"`
	OwnerID uint `json:"owner_id"`
}

const (
	msgTaskIDRequired    = "task_id is required and must be a positive number"
	msgTaskOwnerRequired = "task owner_id is required"
)

func validTaskRef(w http.ResponseWriter, req *RPCRequest, id, owner uint) bool {
	switch {
	case id == 0:
		invalid(w, req, msgTaskIDRequired)
		return false
	case owner == 0:
		invalid(w, req, msgTaskOwnerRequired)
		return false
	}
	return true
}

// adminTask returns a copy of a task visible to AdminID (the only owner
// the task handlers ever use) and its instance.
func (st *store) adminTask(id uint64) (task, instance, bool) {
	if id == 0 || id > uint64(len(st.tasks)) || st.tasks[id-1].ownerID != AdminID {
		return task{}, instance{}, false
	}
	t := st.tasks[id-1]
	return t, st.instances[t.instanceID-1], true
}

func (s *Server) taskGet(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[TaskGetParams](w, req)
	if !ok || !validTaskRef(w, req, p.TaskID, p.OwnerID) {
		return
	}
	s.st.mu.RLock()
	t, in, found := s.st.adminTask(uint64(p.TaskID))
	s.st.mu.RUnlock()
	if !found {
		writeRPCError(w, http.StatusNotFound, "Task not found", "record not found", req.ID)
		return
	}
	writeRPCOK(w, renderTask(uint64(p.TaskID), &t, &in, s.cfg.LockDuration), req.ID)
}

func (s *Server) taskList(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[TaskListParams](w, req)
	if !ok {
		return
	}
	switch {
	case p.ProjectName == "":
		invalid(w, req, msgProjNameRequired)
		return
	case p.OwnerID == 0:
		invalid(w, req, msgTaskOwnerRequired)
		return
	case p.Page < 0:
		invalid(w, req, msgPagePositive)
		return
	}
	page, offset := rpcPage(p.Page)
	st := s.st
	st.mu.RLock()
	pid, pr := st.liveProject(AdminID, p.ProjectName)
	if pr == nil {
		st.mu.RUnlock()
		writeRPCError(w, http.StatusInternalServerError, "Failed to list tasks", "record not found", req.ID)
		return
	}
	var ids []uint64
	for _, id := range st.taskScan.sorted(st.projTasks[pid]) {
		if st.tasks[id-1].ownerID == AdminID {
			ids = append(ids, id)
		}
	}
	ids = pageOf(ids, offset)
	tcopies := make([]task, len(ids))
	ins := make([]instance, len(ids))
	for i, id := range ids {
		tcopies[i], ins[i], _ = st.adminTask(id)
	}
	st.mu.RUnlock()
	rows := make([]Task, len(ids))
	for i, id := range ids {
		rows[i] = renderTask(id, &tcopies[i], &ins[i], s.cfg.LockDuration)
	}
	writeRPCOK(w, ListResponse[Task]{Rows: rows, Pagination: Pagination{
		Total: len(rows), Page: page, Limit: rpcPageSize, Offset: offset,
	}}, req.ID)
}

// taskTerminate only flips the status (no state check, no cancellation:
// a running worker later overwrites it); a miss is a silent success.
func (s *Server) taskTerminate(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[TaskTerminateParams](w, req)
	if !ok || !validTaskRef(w, req, p.TaskID, p.OwnerID) {
		return
	}
	id := uint64(p.TaskID)
	s.st.mu.Lock()
	if id <= uint64(len(s.st.tasks)) && s.st.tasks[id-1].ownerID == AdminID {
		t := &s.st.tasks[id-1]
		t.status, t.updatedAt = tsTerminated, nowNano()
		s.st.taskScan.update(id)
	}
	s.st.mu.Unlock()
	writeRPCOK(w, nil, req.ID)
}
