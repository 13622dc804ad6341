package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
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
