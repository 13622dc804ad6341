package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// The counting handler must count what the client reads and name routes as the emulator does.
func TestTalisServerCountsBytesPerRoute(t *testing.T) {
	ts, err := startTalisServer(emulator.New(emulator.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	read := func(method, path, body string) int64 {
		req, _ := http.NewRequest(method, ts.URL()+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return int64(len(b))
	}
	want := map[string]int64{
		"RPC project.create":        read("POST", "/api/v1", `{"method":"project.create","params":{"name":"p","owner_id":4294967295}}`),
		"GET /api/v1/instances":     read("GET", "/api/v1/instances?limit=0", ""),
		"GET /api/v1/instances/:id": read("GET", "/api/v1/instances/7", ""),
	}
	got := ts.bytes.snapshot()
	for route, n := range want {
		if n == 0 || got[route] != n {
			t.Errorf("%s: counted %d bytes, client read %d (all: %v)", route, got[route], n, got)
		}
	}
	for route := range ts.Stats().Requests {
		if _, ok := got[route]; !ok {
			t.Errorf("the emulator counted route %q that the byte counter names differently: %v", route, got)
		}
	}
}
