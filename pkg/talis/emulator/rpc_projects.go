/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"net/http"
)

// Param structs carry upstream's names (they appear in decoder errors).

// ProjectConfig only validates project.create's config string.
type ProjectConfig struct {
	Resources map[string]any `json:"resources,omitempty"`
	Settings  map[string]any `json:"settings,omitempty"`
}

// ProjectCreateParams are project.create's params.
type ProjectCreateParams struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Config      string `json:"config,omitempty"`
	OwnerID     uint   `json:"owner_id"`
}

// ProjectGetParams are project.get's params.
type ProjectGetParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}

// ProjectListParams are project.list's params.
type ProjectListParams struct {
	Page    int  `json:"page,omitempty"`
	OwnerID uint `json:"owner_id"`
}

// ProjectDeleteParams are project.delete's params.
type ProjectDeleteParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}

// ProjectListInstancesParams are project.listInstances' params.
type ProjectListInstancesParams struct {
	Name    string `json:"name"`
	Page    int    `json:"page,omitempty"`
	OwnerID uint   `json:"owner_id"`
}

const (
	msgProjNameRequired  = "project name is required"
	msgProjOwnerRequired = "project owner_id is required"
	msgPagePositive      = "page must be a positive number"
)

// uniqueViolation renders a unique-index error of the emulated database.
func (s *Server) uniqueViolation(pgIndex, sqliteCols string) string {
	if s.cfg.DuplicateProjectStyle == "sqlite" {
		return "UNIQUE constraint failed: " + sqliteCols
	}
	return `ERROR: duplicate key value violates unique constraint "` + pgIndex + `" (SQLSTATE 23505)`
}

func (s *Server) projectCreate(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[ProjectCreateParams](w, req)
	if !ok {
		return
	}
	if !validNameOwner(w, req, p.Name, p.OwnerID) {
		return
	}
	if p.Config != "" {
		var cfg ProjectConfig
		if err := json.Unmarshal([]byte(p.Config), &cfg); err != nil {
			invalid(w, req, "invalid config JSON: "+decodeMsg(err))
			return
		}
	}
	st := s.st
	st.mu.Lock()
	if _, dup := st.projByName[p.Name]; dup { // deleted projects still hold the name
		st.mu.Unlock()
		if s.cfg.DuplicateProjectStyle == "sqlite" {
			writeRPCError(w, http.StatusBadRequest, "Project already exists", s.uniqueViolation("", "projects.name"), req.ID)
		} else {
			writeRPCError(w, http.StatusInternalServerError, "Failed to create project", s.uniqueViolation("uni_projects_name", ""), req.ID)
		}
		return
	}
	now, exact := insertTime()
	st.projects = append(st.projects, project{
		ownerID: uint64(p.OwnerID), name: p.Name, description: p.Description, config: p.Config,
		createdAt: now, updatedAt: now,
	})
	id := uint64(len(st.projects))
	st.projByName[p.Name] = id
	row := st.projects[id-1]
	st.mu.Unlock()
	row.createdAt, row.updatedAt = exact, exact
	out := renderProject(id, &row)
	writeRPCOK(w, out, req.ID)
}

func (s *Server) projectGet(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[ProjectGetParams](w, req)
	if !ok {
		return
	}
	if !validNameOwner(w, req, p.Name, p.OwnerID) {
		return
	}
	s.st.mu.RLock()
	id, pr := s.st.liveProject(uint64(p.OwnerID), p.Name)
	var out Project
	if pr != nil {
		out = renderProject(id, pr)
	}
	s.st.mu.RUnlock()
	if pr == nil {
		writeRPCError(w, http.StatusNotFound, "Project not found", "record not found", req.ID)
		return
	}
	writeRPCOK(w, out, req.ID)
}

func (s *Server) projectList(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[ProjectListParams](w, req)
	if !ok {
		return
	}
	switch {
	case p.Page < 0:
		invalid(w, req, msgPagePositive)
		return
	case p.OwnerID == 0:
		invalid(w, req, msgProjOwnerRequired)
		return
	}
	page, offset := rpcPage(p.Page)
	rows := []Project{}
	s.st.mu.RLock()
	var ids []uint64
	for i := range s.st.projects {
		if pr := &s.st.projects[i]; pr.deletedAt == 0 && pr.ownerID == uint64(p.OwnerID) {
			ids = append(ids, uint64(i+1))
		}
	}
	for _, id := range pageOf(ids, offset) {
		rows = append(rows, renderProject(id, &s.st.projects[id-1]))
	}
	s.st.mu.RUnlock()
	writeRPCOK(w, ListResponse[Project]{Rows: rows, Pagination: Pagination{
		Total: len(rows), Page: page, Limit: rpcPageSize, Offset: offset,
	}}, req.ID)
}

func (s *Server) projectDelete(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[ProjectDeleteParams](w, req)
	if !ok {
		return
	}
	if !validNameOwner(w, req, p.Name, p.OwnerID) {
		return
	}
	// Soft delete; instances and tasks are left alone, and a miss is
	// still a success.
	s.st.mu.Lock()
	if _, pr := s.st.liveProject(uint64(p.OwnerID), p.Name); pr != nil {
		pr.deletedAt = nowNano()
	}
	s.st.mu.Unlock()
	writeRPCOK(w, nil, req.ID)
}

func (s *Server) projectListInstances(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[ProjectListInstancesParams](w, req)
	if !ok {
		return
	}
	if !validNameOwner(w, req, p.Name, p.OwnerID) {
		return
	}
	if p.Page < 0 {
		invalid(w, req, msgPagePositive)
		return
	}
	_, offset := rpcPage(p.Page)
	st := s.st
	st.mu.RLock()
	pid, pr := st.liveProject(uint64(p.OwnerID), p.Name)
	if pr == nil {
		st.mu.RUnlock()
		writeRPCError(w, http.StatusInternalServerError, "Failed to list project instances", "record not found", req.ID)
		return
	}
	ids := pageOf(st.scan.sorted(st.projInstances[pid]), offset)
	copies := make([]instance, len(ids))
	for i, id := range ids {
		copies[i] = st.instances[id-1]
	}
	st.mu.RUnlock()
	rows := make([]Instance, len(ids))
	for i, id := range ids {
		rows[i] = renderInstance(id, &copies[i])
	}
	// page is echoed as sent (0 when omitted).
	writeRPCOK(w, ListResponse[Instance]{Rows: rows, Pagination: Pagination{
		Total: len(rows), Page: p.Page, Limit: rpcPageSize, Offset: offset,
	}}, req.ID)
}

// validNameOwner checks the two parameters every project method needs, in the server's order,
// and answers the error itself.
func validNameOwner(w http.ResponseWriter, req *RPCRequest, name string, owner uint) bool {
	switch {
	case name == "":
		invalid(w, req, msgProjNameRequired)
		return false
	case owner == 0:
		invalid(w, req, msgProjOwnerRequired)
		return false
	}
	return true
}
