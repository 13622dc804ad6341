package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time (make build, the Dockerfile):
// -ldflags "-X main.version=v1.2.3 -X main.commit=<sha>". A plain go build or go install
// leaves them empty and the module's build info is used instead.
var (
	version string
	commit  string
)

// stdout is where --version prints.
var stdout io.Writer = os.Stdout

func versionString() string {
	v, c := versionAndCommit()
	return fmt.Sprintf("talis-operator manager %s (commit %s, %s)", v, c, runtime.Version())
}

// versionAndCommit are the ldflags values, else the module's build info, else "unknown".
func versionAndCommit() (v, c string) {
	v, c = version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version // "(devel)" for a build from a checkout, a tag for go install m@v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "unknown"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}
