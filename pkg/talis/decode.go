package talis

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The decoders below turn 2xx bodies into types; they are separate functions
// so that they can be fuzzed.

var errNoData = errors.New("success without data")

func decodeInstance(b []byte) (Instance, error) {
	var in Instance
	err := json.Unmarshal(b, &in)
	return in, err
}

func decodeInstanceList(b []byte) ([]*Instance, error) {
	var l ListResponse[*Instance]
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	return compact(l.Rows), nil
}

func decodePublicIPs(b []byte) (PublicIPsResponse, error) {
	var r PublicIPsResponse
	err := json.Unmarshal(b, &r)
	return r, err
}

func decodeHealth(b []byte) (map[string]string, error) {
	var m map[string]string
	err := json.Unmarshal(b, &m)
	return m, err
}

// decodeSlug reads the slug envelope and turns a slug other than "success"
// into an error (never seen with a 2xx, but the envelope allows it).
func decodeSlug(b []byte) (SlugResponse, error) {
	var s SlugResponse
	if err := json.Unmarshal(b, &s); err != nil {
		return s, err
	}
	if s.Slug != SlugSuccess {
		return s, fmt.Errorf("slug %q: %s", s.Slug, s.Error)
	}
	return s, nil
}

// decodeCreateResponse reads the 201 of CreateInstance: a slug whose data is
// the created instances, in request order.
func decodeCreateResponse(b []byte) ([]*Instance, error) {
	s, err := decodeSlug(b)
	if err != nil {
		return nil, err
	}
	var rows []*Instance
	if err := json.Unmarshal(s.Data, &rows); err != nil {
		return nil, err
	}
	return compact(rows), nil
}

// decodeTaskListSlug reads GET /instances/{id}/tasks: a slug around a list.
func decodeTaskListSlug(b []byte) ([]*Task, error) {
	s, err := decodeSlug(b)
	if err != nil {
		return nil, err
	}
	if len(s.Data) == 0 || string(s.Data) == "null" {
		return nil, nil
	}
	var l ListResponse[*Task]
	if err := json.Unmarshal(s.Data, &l); err != nil {
		return nil, err
	}
	return compact(l.Rows), nil
}

func decodeRPCResponse(b []byte) (RPCResponse, error) {
	var r RPCResponse
	err := json.Unmarshal(b, &r)
	return r, err
}

// decodeRPCData decodes an envelope's data into T; used by the fuzzers and
// mirrors callRPC.
func decodeRPCData[T any](b []byte) (T, error) {
	var out T
	env, err := decodeRPCResponse(b)
	if err != nil {
		return out, err
	}
	if !env.Success || env.Error != nil {
		return out, errors.New("rpc failure")
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return out, errNoData
	}
	err = json.Unmarshal(env.Data, &out)
	return out, err
}

// compact drops JSON nulls from a list so callers never see nil elements.
func compact[T any](rows []*T) []*T {
	out := rows[:0]
	for _, r := range rows {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}
