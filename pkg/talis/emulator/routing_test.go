/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoutingQuirks(t *testing.T) {
	_, base := start(t, Config{Delays: frozen, PathPrefix: "/talis/"})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "r", 1, ""))

	// Trailing slash and case do not matter; params keep their case.
	for _, p := range []string{"/api/v1/instances", "/api/v1/instances/", "/API/V1/Instances", "/api/v1/admin/instances/", "/talis/api/v1/instances", "//api//v1/instances"} {
		if r := do(t, "GET", base+p, ""); r.status != 200 || !strings.HasPrefix(r.body, `{"rows":[`) {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/api/v1", "/api/v1/", "/Api/V1/", "/talis/api/v1"} {
		if r := do(t, "POST", base+p, `{"method":"user.get"}`); r.status != 200 {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := do(t, "GET", base+"/API/v1/INSTANCES/1/TASKS/", ""); r.status != 200 {
		t.Fatal(r.body)
	}
	expect(t, do(t, "GET", base+"/api/v1/instances/ABC", ""), 400,
		`{"slug":"invalid-input","error":"instance id is required: failed to convert: strconv.Atoi: parsing \"ABC\": invalid syntax","data":null}`)

	expect(t, do(t, "GET", base+"/api/v1/whatever?x=1", ""), 404, `{"error":"Cannot GET /api/v1/whatever"}`)
	expect(t, do(t, "POST", base+"/talis/nope", "{}"), 404, `{"error":"Cannot POST /nope"}`)
	expect(t, do(t, "GET", base+"/api/v1/instances//x", ""), 400,
		`{"slug":"invalid-input","error":"instance id is required: failed to convert: strconv.Atoi: parsing \"x\": invalid syntax","data":null}`)
	expect(t, do(t, "GET", base+"/api/v1/instances/1/tasks/x", ""), 404, `{"error":"Cannot GET /api/v1/instances/1/tasks/x"}`)
	// Fiber's Allow lists the other methods registered for the path, in
	// its method order, HEAD with every GET.
	for _, tc := range [][3]string{
		{"PUT", "/api/v1/instances", "GET, HEAD, POST, DELETE"},
		{"GET", "/api/v1", "POST"},
		{"HEAD", "/api/v1", "POST"},
		{"PATCH", "/api/v1/", "POST"},
		{"POST", "/health", "GET, HEAD"},
		{"DELETE", "/api/v1/instances/1", "GET, HEAD"},
		{"POST", "/api/v1/instances/public-ips", "GET, HEAD"},
		{"PUT", "/talis/api/v1/instances/1/tasks", "GET, HEAD"},
	} {
		r := do(t, tc[0], base+tc[1], "")
		if tc[0] != "HEAD" {
			expect(t, r, 405, `{"error":"Method Not Allowed"}`)
		}
		if got := r.header.Values("Allow"); r.status != 405 || len(got) != 1 || got[0] != tc[2] {
			t.Errorf("%s %s: %d, Allow %q, want %q", tc[0], tc[1], r.status, got, tc[2])
		}
	}

	// HEAD is answered for every GET route, without a body.
	r := do(t, "HEAD", base+"/api/v1/instances/1", "")
	if r.status != 200 || r.body != "" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD: %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "GET", base+"/swagger/doc.json", ""); r.status != 200 || !strings.Contains(r.body, `"basePath":"/talis/api/v1"`) {
		t.Fatal(r.body)
	}
	if r := do(t, "GET", base+"/swagger/", ""); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatal(r.status)
	}
}

func TestHandlerWithoutListener(t *testing.T) {
	s := New(Config{Delays: frozen, Seed: 1})
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	expect(t, do(t, "GET", ts.URL+"/health", ""), 200, `{"status":"healthy"}`)
}

func TestBodyLimit(t *testing.T) {
	_, base := start(t, Config{Delays: frozen, BodyLimit: 64})
	expect(t, do(t, "POST", base+"/api/v1", `{"method":"user.get","params":{"username":"`+strings.Repeat("x", 100)+`"}}`), 413,
		`{"error":"Request Entity Too Large"}`)
}
