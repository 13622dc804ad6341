package main

import (
	"context"
	"strings"
)

// kubeScrape is one reading of kube-apiserver's own /metrics: every request it has served so
// far, by verb and resource, and the long-running requests (watches) open at that moment.
type kubeScrape struct {
	requests map[string]float64 // "verb resource[/subresource]" → apiserver_request_total
	watches  map[string]float64 // resource → open WATCH requests (apiserver_longrunning_requests)
	// registered: kind → apiserver_registered_watchers, where this apiserver still exports it.
	registered map[string]float64
}

// apiVerbs maps apiserver_request_total's verbs (HTTP methods for writes) to API verbs.
var apiVerbs = map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "APPLY": "apply",
	"DELETE": "delete", "DELETECOLLECTION": "deletecollection", "GET": "get", "LIST": "list", "WATCH": "watch"}

// writeResources are the resources whose writes the convergence tables break down per set.
var writeResources = map[string]bool{"talisinstancesets": true, "talisprojects": true, "events": true}

func (b *bench) scrapeKube(ctx context.Context) kubeScrape {
	out := kubeScrape{requests: map[string]float64{}, watches: map[string]float64{}, registered: map[string]float64{}}
	raw, err := b.kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		logf("reading the apiserver's metrics: %v", err)
		return out
	}
	m, err := parseMetrics(strings.NewReader(string(raw)))
	if err != nil {
		logf("parsing the apiserver's metrics: %v", err)
		return out
	}
	for _, s := range m["apiserver_request_total"] {
		out.requests[requestKey(s.labels)] += s.value
	}
	for _, s := range m["apiserver_longrunning_requests"] {
		if s.labels["verb"] == "WATCH" {
			out.watches[resourceOf(s.labels)] += s.value
		}
	}
	for _, s := range m["apiserver_registered_watchers"] {
		out.registered[s.labels["kind"]] += s.value
	}
	return out
}

// requestKey is "verb resource[/subresource]"; requests to non-resource paths (/metrics,
// /healthz, discovery) are "verb (non-resource)".
func requestKey(l map[string]string) string {
	verb, ok := apiVerbs[l["verb"]]
	if !ok {
		verb = strings.ToLower(l["verb"])
	}
	return verb + " " + resourceOf(l)
}

func resourceOf(l map[string]string) string {
	res := l["resource"]
	if res == "" {
		return "(non-resource)"
	}
	if sub := l["subresource"]; sub != "" {
		res += "/" + sub
	}
	return res
}

// kubeWrites keeps the writes to the operator's own resources and Events.
func kubeWrites(mix map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range mix {
		verb, res, _ := strings.Cut(k, " ")
		base, _, _ := strings.Cut(res, "/")
		switch verb {
		case "create", "update", "patch", "apply", "delete":
			if writeResources[base] {
				out[k] = v
			}
		}
	}
	return out
}

// isRead says whether a request-mix key is a read (get, list, watch).
func isRead(key string) bool {
	verb, _, _ := strings.Cut(key, " ")
	return verb == "get" || verb == "list" || verb == "watch"
}

// setKube records what the apiserver served between two scrapes: every request (the whole
// mix, reads included), the writes per set, and the watches open at the end.
func (r *RunResult) setKube(before, after kubeScrape, n int) {
	r.KubeRequests = diffRequests(after.requests, before.requests)
	r.KubeWrites = kubeWrites(r.KubeRequests)
	r.KubeWritesPerSet = map[string]float64{}
	for k, v := range r.KubeWrites {
		r.KubeWritesPerSet[k] = round2(v / float64(n))
	}
	r.KubeWatchesOpen = after.watches
	if len(after.registered) > 0 {
		r.KubeRegisteredWatchers = after.registered
	}
}
