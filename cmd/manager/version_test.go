package main

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/talis-operator/talis-operator/internal/metrics"
)

func TestVersionFlagPrintsTheInjectedVersionAndExits(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "0123abc"
	var out bytes.Buffer
	stdout = &out
	// No kubeconfig or Talis URL is needed: --version returns before any of it is read.
	if err := run([]string{"--version"}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), "talis-operator manager v1.2.3 (commit 0123abc, "+runtime.Version()+")"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestVersionFallsBackToBuildInfo(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "", ""
	// A test binary's main module version is "(devel)"; a plain go build reports the same.
	if got := versionString(); !strings.HasPrefix(got, "talis-operator manager (devel) (commit ") {
		t.Errorf("got %q", got)
	}
}

func TestBuildInfoMetricCarriesTheVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "0123abc"
	// A missing key file stops run right after the metric is set, before any cluster is needed.
	if err := run([]string{"--talis-api-key-file", filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("run succeeded without its API key file")
	}
	want := `
# HELP talis_operator_build_info Always 1; labelled with the manager's version, commit and Go version.
# TYPE talis_operator_build_info gauge
talis_operator_build_info{commit="0123abc",go_version="` + runtime.Version() + `",version="v1.2.3"} 1
`
	if err := testutil.CollectAndCompare(metrics.BuildInfo, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
