/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"html"
	"net/http"
	"strings"
)

// routeKind identifies a route; it also selects the shape of injected 500s.
type routeKind int

const (
	rkNone routeKind = iota
	rkHealth
	rkList
	rkMetadata
	rkPublicIPs
	rkGet
	rkTasks
	rkCreate
	rkDelete
	rkRPC
	rkSwagger
	rkSwaggerDoc
)

// pattern is a registered path; handlers are keyed by method.
type pattern struct {
	path    string // display form used in route names
	segs    []string
	methods map[string]routeKind
}

func pat(path string, methods map[string]routeKind) pattern {
	return pattern{path: path, segs: strings.Split(strings.Trim(path, "/"), "/"), methods: methods}
}

// Registration order matters as in Fiber: static segments before :id.
var patterns = []pattern{
	pat("/health", map[string]routeKind{"GET": rkHealth}),
	pat("/api/v1/admin/instances", map[string]routeKind{"GET": rkList}),
	pat("/api/v1/admin/instances/all-metadata", map[string]routeKind{"GET": rkMetadata}),
	pat("/api/v1/instances", map[string]routeKind{"GET": rkList, "POST": rkCreate, "DELETE": rkDelete}),
	pat("/api/v1/instances/all-metadata", map[string]routeKind{"GET": rkMetadata}),
	pat("/api/v1/instances/public-ips", map[string]routeKind{"GET": rkPublicIPs}),
	pat("/api/v1/instances/:id", map[string]routeKind{"GET": rkGet}),
	pat("/api/v1/instances/:instance_id/tasks", map[string]routeKind{"GET": rkTasks}),
	pat("/api/v1", map[string]routeKind{"POST": rkRPC}),
	pat("/swagger", map[string]routeKind{"GET": rkSwagger}),
	pat("/swagger/doc.json", map[string]routeKind{"GET": rkSwaggerDoc}),
}

// match is the routing outcome for one request.
type match struct {
	kind    routeKind
	name    string // stable, low-cardinality route name for stats/faults
	param   string
	found   bool   // some pattern matches the path
	allowed bool   // ...and the method
	allow   string // the path's other methods, for a 405
}

// normalizePath emulates fasthttp's path normalisation (collapse "//",
// resolve dot segments) and Fiber's non-strict routing (one trailing "/"
// is ignored).
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch s {
		case "", ".":
			if i == len(segs)-1 && len(out) > 0 {
				out = append(out, "") // keep one trailing slash
			}
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, s)
	}
	n := "/" + strings.Join(out, "/")
	if len(n) > 1 && strings.HasSuffix(n, "/") {
		n = n[:len(n)-1]
	}
	return n
}

func matchRoute(method, path string) match {
	segs := strings.Split(strings.Trim(normalizePath(path), "/"), "/")
	var first *match
	for _, p := range patterns {
		param, ok := matchSegs(p.segs, segs)
		if !ok {
			continue
		}
		k, ok := p.methods[method]
		if !ok && method == http.MethodHead {
			k, ok = p.methods[http.MethodGet]
		}
		if ok {
			return match{kind: k, name: method + " " + p.path, param: param, found: true, allowed: true}
		}
		// Like Fiber, keep looking for a route with this method before
		// answering 405 (e.g. a later :id pattern).
		if first == nil {
			first = &match{name: method + " " + p.path, found: true}
		}
	}
	if first != nil {
		first.allow = allowHeader(method, segs)
		return *first
	}
	return match{name: method + " (unmatched)"}
}

// fiberMethods is Fiber's default method order, which its Allow follows.
var fiberMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// allowHeader lists, like Fiber's 405, every method but the request's
// that some route of this path registers (HEAD with each GET).
func allowHeader(method string, segs []string) string {
	var out []string
	for _, m := range fiberMethods {
		if m == method {
			continue
		}
		for _, p := range patterns {
			_, has := p.methods[m]
			if m == http.MethodHead {
				_, has = p.methods[http.MethodGet]
			}
			if _, ok := matchSegs(p.segs, segs); has && ok {
				out = append(out, m)
				break
			}
		}
	}
	return strings.Join(out, ", ")
}

func matchSegs(pat, segs []string) (string, bool) {
	if len(pat) != len(segs) {
		return "", false
	}
	param := ""
	for i, ps := range pat {
		if strings.HasPrefix(ps, ":") {
			if segs[i] == "" {
				return "", false
			}
			param = segs[i]
			continue
		}
		if !strings.EqualFold(ps, segs[i]) {
			return "", false
		}
	}
	return param, true
}

// notFound mirrors the production error handler for unknown paths.
func notFound(w http.ResponseWriter, method, rawPath string) {
	writePlain(w, http.StatusNotFound, "Cannot "+method+" "+html.EscapeString(rawPath))
}

// methodNotAllowed answers like Fiber, whose 405 carries an Allow header.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writePlain(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}
