/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// This file has no build tag: `go test ./...` checks that every shell block of README.md is marked,
// so a command added to the README is either run by the e2e or skipped with a stated reason.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocksRun are the README's blocks the e2e runs (test/e2e/e2e_test.go), by marker name.
var readmeBlocksRun = []string{"helm-quickstart", "helm-upgrade", "day-to-day", "fleet-outputs", "helm-uninstall"}

var (
	runMarker  = regexp.MustCompile(`^<!-- e2e-run: ([a-z0-9-]+) -->$`)
	skipMarker = regexp.MustCompile(`^<!-- e2e-skip: .+ -->$`)
)

// shellBlock is a fenced block of a Markdown file and the marker line above it.
type shellBlock struct {
	line   int    // of the opening fence, 1-based
	lang   string // after the fence: sh, yaml, ...
	marker string // the line above the fence
	body   string
}

func fencedBlocks(path string) ([]shellBlock, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(raw), "\n")
	var out []shellBlock
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		b := shellBlock{line: i + 1, lang: strings.TrimPrefix(lines[i], "```")}
		if i > 0 {
			b.marker = strings.TrimSpace(lines[i-1])
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		b.body = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out, nil
}

// readmeBlock returns the body of the README block marked `<!-- e2e-run: name -->`.
func readmeBlock(root, name string) (string, error) {
	blocks, err := fencedBlocks(filepath.Join(root, "README.md"))
	if err != nil {
		return "", err
	}
	for _, b := range blocks {
		if m := runMarker.FindStringSubmatch(b.marker); m != nil && m[1] == name {
			return b.body, nil
		}
	}
	return "", fmt.Errorf("README.md has no block marked <!-- e2e-run: %s -->", name)
}

// commands splits a shell block into its commands: one per line, a trailing backslash joins the
// next line, blank lines are dropped. Comments stay: bash drops them when it runs the command.
func commands(block string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(block, "\n") {
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		cur += l
		if strings.TrimSpace(cur) != "" {
			out = append(out, strings.TrimSpace(cur))
		}
		cur = ""
	}
	return out
}

func TestEveryReadmeShellBlockIsMarked(t *testing.T) {
	blocks, err := fencedBlocks("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	run := map[string]bool{}
	for _, b := range blocks {
		m := runMarker.FindStringSubmatch(b.marker)
		if m != nil {
			if run[m[1]] {
				t.Errorf("README.md:%d: a second block marked %q", b.line, m[1])
			}
			run[m[1]] = true
		}
		if b.lang != "sh" {
			continue
		}
		if m == nil && !skipMarker.MatchString(b.marker) {
			t.Errorf("README.md:%d: a shell block without <!-- e2e-run: NAME --> (and a step in test/e2e that runs it) or <!-- e2e-skip: why -->", b.line)
		}
	}
	for _, name := range readmeBlocksRun {
		if !run[name] {
			t.Errorf("test/e2e runs the README block %q, which README.md no longer marks", name)
		}
	}
	for name := range run {
		found := false
		for _, n := range readmeBlocksRun {
			found = found || n == name
		}
		if !found {
			t.Errorf("README.md marks a block %q that test/e2e does not run (add it to readmeBlocksRun and a step)", name)
		}
	}
}

func TestCommandsJoinsContinuations(t *testing.T) {
	got := commands("a \\\n  b\nc # note\n\n")
	if len(got) != 2 || got[0] != "a    b" || got[1] != "c # note" {
		t.Fatalf("commands: %q", got)
	}
}
