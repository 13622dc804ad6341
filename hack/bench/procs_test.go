package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="talisinstanceset",result="success"} 3
controller_runtime_reconcile_total{controller="talisinstanceset",result="error"} 2
controller_runtime_reconcile_total{controller="talisproject",result="success"} 7
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.048576e+06
# TYPE apiserver_request_total counter
apiserver_request_total{resource="talisinstancesets",subresource="status",verb="PATCH"} 4
# TYPE rest_client_request_duration_seconds histogram
rest_client_request_duration_seconds_bucket{le="0.1"} 1
rest_client_request_duration_seconds_bucket{le="+Inf"} 2
rest_client_request_duration_seconds_sum 0.3
rest_client_request_duration_seconds_count 2
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.sum("controller_runtime_reconcile_total", map[string]string{"controller": "talisinstanceset"}); got != 5 {
		t.Errorf("reconciles of talisinstanceset = %v, want 5", got)
	}
	if got := m.sum("controller_runtime_reconcile_total", nil); got != 12 {
		t.Errorf("all reconciles = %v, want 12", got)
	}
	if got := m.sum("go_memstats_heap_inuse_bytes", nil); got != 1<<20 {
		t.Errorf("heap = %v, want %v", got, 1<<20)
	}
	if s := m["apiserver_request_total"]; len(s) != 1 || s[0].labels["subresource"] != "status" || s[0].labels["verb"] != "PATCH" {
		t.Errorf("apiserver_request_total = %+v", s)
	}
	if _, err := parseMetrics(strings.NewReader("not a metric line {\n")); err == nil {
		t.Error("a malformed exposition parsed")
	}
}

func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	if cpuSeconds(pid) < 0 {
		t.Error("negative CPU time")
	}
	if rss, hwm := memKiB(pid); rss <= 0 || hwm < rss {
		t.Errorf("rss %d kB, peak %d kB", rss, hwm)
	}
	if cpuSeconds(-1) != 0 {
		t.Error("CPU time of no process")
	}
	if m := describeMachine(); m.MemoryGiB <= 0 || m.Kernel == "" {
		t.Errorf("machine %+v", m)
	}
	if l := loadAvg(); len(strings.Fields(l)) != 3 {
		t.Errorf("load average %q", l)
	}
}
