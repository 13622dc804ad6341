//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchFor is how long a `-w` command runs before the check reads what it printed.
const watchFor = 15 * time.Second

// shell runs one command line the way a user types it: through bash, from the repository's root,
// with the node's kubectl and the pinned helm first on PATH and KUBECONFIG set to the node's.
// prelude (e.g. an `export` line printed before it) runs first in the same shell. A command that
// watches (`-w`) runs for watchFor and is then stopped. What it printed on stdout is returned.
func (e env) shell(t *testing.T, prelude, line string) string {
	t.Helper()
	bin := t.TempDir()
	for name, target := range map[string]string{"kubectl": e.kubectl, "helm": e.helm} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	watches := strings.Contains(line, " -w")
	timeout := 12 * time.Minute // above the printed `kubectl wait --timeout=10m`
	if watches {
		timeout = watchFor
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-eo", "pipefail", "-c", prelude+"\n"+line)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "KUBECONFIG="+e.kubeconfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("$ %s\n%s%s", line, out.String(), errOut.String())
	switch {
	case watches && ctx.Err() != nil:
		// Stopped while watching, as a user would with Ctrl-C.
	case err != nil:
		t.Fatalf("%s: %v\n%s%s", line, err, out.String(), errOut.String())
	}
	return out.String()
}

// fill replaces a block's placeholders, failing if one is not there: a README that changed its
// placeholders must change the test too.
func fill(t *testing.T, block string, with map[string]string) string {
	t.Helper()
	for from, to := range with {
		if !strings.Contains(block, from) {
			t.Fatalf("the block no longer contains %q:\n%s", from, block)
		}
		block = strings.ReplaceAll(block, from, to)
	}
	return block
}

// readme returns the commands of the README block marked name.
func (e env) readme(t *testing.T, name string) []string {
	t.Helper()
	b, err := readmeBlock(e.root, name)
	if err != nil {
		t.Fatal(err)
	}
	return commands(b)
}

// watched checks the first output of a `kubectl get ... -w`: the table's header (after whatever a
// command before it in the line printed) and a row for each name.
func watched(t *testing.T, out string, header string, rows ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for len(lines) > 0 && !strings.HasPrefix(strings.Join(strings.Fields(lines[0]), " "), header) {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		t.Fatalf("watch printed no header %q:\n%s", header, out)
	}
	for _, r := range rows {
		found := false
		for _, l := range lines[1:] {
			found = found || strings.HasPrefix(l, r+" ")
		}
		if !found {
			t.Errorf("watch printed no row %q:\n%s", r, out)
		}
	}
}
