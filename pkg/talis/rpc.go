package talis

import (
	"context"
	"encoding/json"
	"net/http"
)

// RPCRequest is the body of POST /api/v1. The server accepts only a string
// id; the client never sends one.
type RPCRequest struct {
	Method string `json:"method"`
	Params any    `json:"params"`
	ID     string `json:"id,omitempty"`
}

// RPCResponse is the RPC envelope. Data is absent for methods without a
// result; Error is set, and Success false, on failure.
type RPCResponse struct {
	Data    json.RawMessage `json:"data,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
	ID      string          `json:"id,omitempty"`
	Success bool            `json:"success"`
}

// RPCError is the envelope's error; Code equals the HTTP status and Data is
// usually the raw Go or database error string.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// rpcRetrySafe lists the methods that may be repeated: reads, and writes
// whose repetition cannot change the outcome (project.delete and
// task.terminate report success for a no-op). Creates are excluded (a retry
// would turn a lost success into a duplicate error or a second row), and so
// are user.delete and sshkey.delete, whose repetition after a lost success
// fails with "not found".
var rpcRetrySafe = map[string]bool{
	RPCProjectGet: true, RPCProjectList: true, RPCProjectListInstances: true,
	RPCProjectDelete: true, RPCTaskGet: true, RPCTaskList: true,
	RPCTaskTerminate: true, RPCUserGet: true, RPCUserGetByID: true,
	RPCSSHKeyList: true,
}

// callRPC posts {"method","params"} and decodes data into out (if non-nil).
// needData rejects a success without data, for methods returning an object.
func (c *APIClient) callRPC(ctx context.Context, clientMethod, rpcMethod string, params any, out any, needData bool) error {
	route := "RPC " + rpcMethod
	resp, err := c.do(ctx, call{
		method:     clientMethod,
		route:      route,
		httpMethod: http.MethodPost,
		path:       "/api/v1",
		body:       RPCRequest{Method: rpcMethod, Params: params},
		idempotent: rpcRetrySafe[rpcMethod],
		rpc:        true,
	})
	if err != nil {
		return err
	}
	env, err := decodeRPCResponse(resp.body)
	if err != nil {
		return &requestError{route: route, err: err, phase: responded, decode: true}
	}
	if !env.Success || env.Error != nil {
		return newAPIError(resp.status, nil, resp.body, c.key(), clientMethod, route, true)
	}
	if out == nil {
		return nil
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		if needData {
			return &requestError{route: route, err: errNoData, phase: responded, decode: true}
		}
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &requestError{route: route, err: err, phase: responded, decode: true}
	}
	return nil
}
