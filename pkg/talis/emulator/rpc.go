/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
)

type rpcFunc func(s *Server, w http.ResponseWriter, req *RPCRequest)

// rpcMethods are the implemented methods; task.updateStatus is recognised
// by the task dispatcher but has no case there (→ "Unknown task method").
var rpcMethods = map[string]rpcFunc{
	"project.create":        (*Server).projectCreate,
	"project.get":           (*Server).projectGet,
	"project.list":          (*Server).projectList,
	"project.delete":        (*Server).projectDelete,
	"project.listInstances": (*Server).projectListInstances,
	"task.get":              (*Server).taskGet,
	"task.list":             (*Server).taskList,
	"task.terminate":        (*Server).taskTerminate,
	"user.create":           (*Server).userCreate,
	"user.get":              (*Server).userGet,
	"user.get.id":           (*Server).userGetByID,
	"user.delete":           (*Server).userDelete,
	"sshkey.create":         (*Server).sshKeyCreate,
	"sshkey.list":           (*Server).sshKeyList,
	"sshkey.delete":         (*Server).sshKeyDelete,
}

const methodTaskUpdateStatus = "task.updateStatus"

// rpcFailMessages are each method's 500 message (used by injected faults).
var rpcFailMessages = map[string]string{
	"project.create":        "Failed to create project",
	"project.get":           "Failed to get project",
	"project.list":          "Failed to list projects",
	"project.delete":        "Failed to delete project",
	"project.listInstances": "Failed to list project instances",
	"task.get":              "Failed to get task",
	"task.list":             "Failed to list tasks",
	"task.terminate":        "Failed to terminate task",
	"user.create":           "Failed to create user",
	"user.get":              "Failed to get users",
	"user.get.id":           "Failed to get user",
	"user.delete":           "Failed to delete user",
	"sshkey.create":         "Failed to create SSH key",
	"sshkey.list":           "Failed to list SSH keys",
	"sshkey.delete":         "Failed to delete SSH key",
}

// parseRPC decodes the envelope like BodyParser does; on a type error the
// fields decoded so far (e.g. id) are kept, as with encoding/json.
func parseRPC(r *http.Request, body []byte) (*RPCRequest, error) {
	req := &RPCRequest{}
	if err := decodeBody(r, body, req); err != nil {
		return req, errors.New(decodeMsg(err))
	}
	return req, nil
}

// rpcRouteName keeps stats/fault keys low-cardinality.
func rpcRouteName(req *RPCRequest, err error) string {
	switch {
	case err != nil || req.Method == "":
		return "RPC (invalid)"
	case rpcMethods[req.Method] != nil || req.Method == methodTaskUpdateStatus:
		return "RPC " + req.Method
	default:
		return "RPC (unknown)"
	}
}

func (s *Server) handleRPC(c *reqCtx) {
	req := c.rpc
	if c.rpcErr != nil {
		writeRPCError(c.w, http.StatusBadRequest, "Invalid request format", c.rpcErr.Error(), req.ID)
		return
	}
	if req.Method == "" {
		writeRPCError(c.w, http.StatusBadRequest, "Method is required", nil, req.ID)
		return
	}
	if req.Method == methodTaskUpdateStatus {
		writeRPCError(c.w, http.StatusBadRequest, "Unknown task method", nil, req.ID)
		return
	}
	fn := rpcMethods[req.Method]
	if fn == nil {
		writeRPCError(c.w, http.StatusBadRequest, "Unknown method", nil, req.ID)
		return
	}
	fn(s, c.w, req)
}

// parseParams re-marshals params and decodes them into the method's
// struct, exactly like upstream (numbers pass through float64).
func parseParams[T any](w http.ResponseWriter, req *RPCRequest) (T, bool) {
	var p T
	b, err := json.Marshal(req.Params)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		writeRPCError(w, http.StatusBadRequest, "Invalid parameters", decodeMsg(err), req.ID)
		return p, false
	}
	return p, true
}

// invalid answers a Validate() failure: message only, no data.
func invalid(w http.ResponseWriter, req *RPCRequest, msg string) {
	writeRPCError(w, http.StatusBadRequest, msg, nil, req.ID)
}

// rpcPage returns (page, offset) for the fixed page size of 50.
func rpcPage(page int) (int, int) {
	if page < 1 {
		page = 1
	}
	return page, (page - 1) * rpcPageSize
}

const rpcPageSize = 50

// pageOf slices ids for one RPC page.
func pageOf(ids []uint64, offset int) []uint64 {
	if offset >= len(ids) {
		return nil
	}
	ids = ids[offset:]
	if len(ids) > rpcPageSize {
		ids = ids[:rpcPageSize]
	}
	return ids
}
