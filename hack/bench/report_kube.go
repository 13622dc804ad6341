package main

import (
	"fmt"
	"sort"
	"strings"
)

// kubeColumn is one run's side of the request-mix table.
type kubeColumn struct {
	title string
	n     int
	r     *RunResult
}

// kubeRequestSection is every request kube-apiserver served during each convergence window,
// operator and Kubernetes floor side by side: what the API server spends its CPU on besides
// the writes the convergence table counts per set.
func kubeRequestSection(p func(string, ...any), res *Results) {
	runs := append([]Convergence(nil), res.Convergence...)
	if res.Scale != nil {
		runs = append(runs, *res.Scale)
	}
	var cols []kubeColumn
	for i := range runs {
		cv := &runs[i]
		if cv.Operator.KubeRequests != nil {
			cols = append(cols, kubeColumn{fmt.Sprintf("N=%d operator", cv.N), cv.N, &cv.Operator})
		}
		if cv.Floor != nil && cv.Floor.KubeRequests != nil {
			cols = append(cols, kubeColumn{fmt.Sprintf("N=%d floor", cv.N), cv.N, cv.Floor})
		}
	}
	if len(cols) == 0 {
		return
	}
	p("### Kubernetes API requests during convergence (kube-apiserver's `apiserver_request_total`)\n\n")
	p("| verb resource |")
	for _, c := range cols {
		p(" %s |", c.title)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(cols)))
	row := func(name string, f func(*RunResult, int) string) {
		p("| %s |", name)
		for _, c := range cols {
			p(" %s |", f(c.r, c.n))
		}
		p("\n")
	}
	sum := func(keep func(string) bool) func(*RunResult, int) string {
		return func(r *RunResult, n int) string {
			t := 0.0
			for k, v := range r.KubeRequests {
				if keep(k) {
					t += v
				}
			}
			return fmt.Sprintf("**%.0f** (%.1f per set)", t, t/float64(n))
		}
	}
	row("all requests", sum(func(string) bool { return true }))
	row("reads (get, list, watch)", sum(isRead))
	row("writes and others", sum(func(k string) bool { return !isRead(k) }))
	for _, k := range requestKeys(cols) {
		row("&nbsp;&nbsp;"+k, func(r *RunResult, _ int) string { return fmt.Sprintf("%.0f", r.KubeRequests[k]) })
	}
	watchRows(row, cols)
	p("\nCounted from the moment the harness starts applying the sets to the moment the last set is Ready (the convergence window; the manager's start-up lists and watches fall in its warm-up, before). The counter is the API server's, for every client: the manager, the harness (its creates, its one watch per namespace, these scrapes of `/metrics`, which are the non-resource GETs), the API server's own controllers, and in the floor's window the idle manager of the same phase (its lease renewals). A watch is counted when it ends, so the open-watch rows (`apiserver_longrunning_requests`, verb WATCH, at the end of the window) are the better watch figure.\n\n")
}

// watchedByOperators are the resources whose open watches get a row of their own; the API
// server's own informers (RBAC, admission, nodes, …) are summed in one row.
var watchedByOperators = map[string]bool{"talisinstancesets": true, "talisprojects": true, "events": true,
	"leases": true, "secrets": true, "configmaps": true, "namespaces": true}

func watchRows(row func(string, func(*RunResult, int) string), cols []kubeColumn) {
	seen := map[string]bool{}
	for _, c := range cols {
		for k := range c.r.KubeWatchesOpen {
			seen[k] = true
		}
	}
	if len(seen) == 0 {
		return
	}
	total := func(keep func(string) bool) func(*RunResult, int) string {
		return func(r *RunResult, _ int) string {
			t := 0.0
			for k, v := range r.KubeWatchesOpen {
				if keep(k) {
					t += v
				}
			}
			return fmt.Sprintf("%.0f", t)
		}
	}
	row("open watches at the end (all)", total(func(string) bool { return true }))
	for _, k := range sortedKeys(seen) {
		if watchedByOperators[k] {
			row("&nbsp;&nbsp;open watches: "+k, total(func(x string) bool { return x == k }))
		}
	}
	row("&nbsp;&nbsp;open watches: other resources (the API server's own informers)", total(func(x string) bool { return !watchedByOperators[x] }))
}

// requestKeys orders the mix by resource, then verb, leaving out what no column has.
func requestKeys(cols []kubeColumn) []string {
	set := map[string]bool{}
	for _, c := range cols {
		for k, v := range c.r.KubeRequests {
			if v > 0 {
				set[k] = true
			}
		}
	}
	keys := sortedKeys(set)
	sort.SliceStable(keys, func(i, j int) bool {
		vi, ri, _ := strings.Cut(keys[i], " ")
		vj, rj, _ := strings.Cut(keys[j], " ")
		if ri != rj {
			return ri < rj
		}
		return vi < vj
	})
	return keys
}
