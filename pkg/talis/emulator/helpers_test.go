/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests use net/http only (never pkg/talis), so they pin the wire format.

// frozen keeps every task pending (for golden checks of initial state).
var frozen = Delays{Pickup: time.Hour, Create: time.Hour, Ready: time.Hour, Provision: time.Hour, Terminate: time.Hour}

// fast lets lifecycles finish in tens of milliseconds.
var fast = Delays{Pickup: 5 * time.Millisecond, Create: 10 * time.Millisecond, Ready: 5 * time.Millisecond, Provision: 10 * time.Millisecond, Terminate: 10 * time.Millisecond}

func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	s := New(cfg)
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, url
}

type resp struct {
	status int
	header http.Header
	body   string
}

var client = &http.Client{Timeout: 20 * time.Second}

// do sends a request; a non-empty body gets Content-Type application/json
// unless hdr overrides it ("Content-Type", "" removes it).
func do(t *testing.T, method, url, body string, hdr ...string) resp {
	t.Helper()
	r, err := doErr(method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func doErr(method, url, body string, hdr ...string) (resp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return resp{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := client.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}, err
}

func rpc(t *testing.T, base, method string, params any) resp {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"method": method, "params": params})
	return do(t, "POST", base+"/api/v1", string(b))
}

var tsRe = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)

// norm replaces real timestamps with "<T>" (the zero one is kept).
func norm(s string) string {
	return tsRe.ReplaceAllStringFunc(s, func(m string) string {
		if m == `"0001-01-01T00:00:00Z"` {
			return m
		}
		return `"<T>"`
	})
}

func expect(t *testing.T, r resp, status int, body string) {
	t.Helper()
	if r.status != status || norm(r.body) != body {
		t.Fatalf("got %d %s\nwant %d %s", r.status, norm(r.body), status, body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

const admin = 4294967295

func mkProject(t *testing.T, base string, owner uint, name string) {
	t.Helper()
	r := rpc(t, base, "project.create", map[string]any{"name": name, "owner_id": owner})
	if r.status != 200 {
		t.Fatalf("project.create: %d %s", r.status, r.body)
	}
}

// instReq returns a valid create element as a JSON object string.
func instReq(owner uint, project, name string, n int, extra string) string {
	b, _ := json.Marshal(map[string]any{
		"owner_id": owner, "project_name": project, "name": name, "number_of_instances": n,
		"provider": "do", "region": "nyc1", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64",
		"volumes": []map[string]any{{"name": "data", "size_gb": 10}},
	})
	s := string(b)
	if extra != "" {
		s = s[:len(s)-1] + "," + extra + "}"
	}
	return s
}

type wireInst struct {
	ID                 uint           `json:"ID"`
	Name               string         `json:"name"`
	Status             string         `json:"status"`
	PublicIP           string         `json:"public_ip"`
	ProviderInstanceID int            `json:"provider_instance_id"`
	VolumeIDs          []string       `json:"volume_ids"`
	VolumeDetails      []VolumeDetail `json:"volume_details"`
	Tags               []string       `json:"tags"`
	UpdatedAt          time.Time      `json:"UpdatedAt"`
	CreatedAtReal      time.Time      `json:"created_at"`
}

func create(t *testing.T, base string, elems ...string) []wireInst {
	t.Helper()
	r := do(t, "POST", base+"/api/v1/instances", "["+strings.Join(elems, ",")+"]")
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return decode[struct{ Data []wireInst }](t, r.body).Data
}

func getInst(t *testing.T, base string, id uint) wireInst {
	t.Helper()
	r := do(t, "GET", base+"/api/v1/instances/"+itoa(id), "")
	if r.status != 200 {
		t.Fatalf("get %d: %d %s", id, r.status, r.body)
	}
	return decode[wireInst](t, r.body)
}

func itoa(n uint) string { return strconv.FormatUint(uint64(n), 10) }

// waitStatus polls an instance until it reaches want.
func waitStatus(t *testing.T, base string, id uint, want string) wireInst {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in := getInst(t, base, id)
		if in.Status == want {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %d: status %q, want %q", id, in.Status, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type wireTask struct {
	ID         uint   `json:"ID"`
	InstanceID uint   `json:"instance_id"`
	Action     string `json:"action"`
	Status     string `json:"status"`
	Attempts   uint   `json:"attempts"`
	Logs       string `json:"logs"`
	Error      string `json:"error"`
	Priority   int    `json:"priority"`
}

func instTasks(t *testing.T, base string, id uint, query string) []wireTask {
	t.Helper()
	r := do(t, "GET", base+"/api/v1/instances/"+itoa(id)+"/tasks"+query, "")
	if r.status != 200 {
		t.Fatalf("tasks: %d %s", r.status, r.body)
	}
	return decode[struct{ Data struct{ Rows []wireTask } }](t, r.body).Data.Rows
}

// waitTask polls the instance's newest task of an action until it is done.
func waitTask(t *testing.T, base string, id uint, action, want string) wireTask {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts := instTasks(t, base, id, "?action="+action)
		if len(ts) > 0 && ts[0].Status == want {
			return ts[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %d %s task: %+v, want %s", id, action, ts, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rpcErr is an RPC error envelope without id (data omitted when "").
func rpcErr(code int, msg, data string) string {
	d := ""
	if data != "" {
		d = `,"data":` + jsonString(data)
	}
	return `{"error":{"code":` + itoa(uint(code)) + `,"message":` + jsonString(msg) + d + `},"success":false}`
}
