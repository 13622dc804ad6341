package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// RunMain starts the shared control plane and builds the manager binary for a suite, hands both
// to ready, runs setup (e.g. processes the whole suite shares, which it returns the stop of), runs
// the tests and cleans up in reverse order (KEEP_LOGS keeps the logs). It returns the exit code.
func RunMain(m *testing.M, suite string, ready func(cp *ControlPlane, managerBin string), setup ...func() (stop func(), err error)) int {
	start := time.Now()
	cp, err := StartControlPlane()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stopping envtest: %v\n", suite, err)
		}
		if os.Getenv("KEEP_LOGS") == "" {
			_ = os.RemoveAll(cp.Dir)
		} else {
			fmt.Fprintf(os.Stderr, "%s: logs kept in %s\n", suite, cp.Dir)
		}
	}()
	bin, err := BuildManager(cp.RepoRoot, cp.Dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	ready(cp, bin)
	for _, f := range setup {
		stop, err := f()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
			return 1
		}
		defer stop()
	}
	fmt.Fprintf(os.Stderr, "%s: control plane and manager binary ready in %s\n", suite, time.Since(start).Round(time.Second))
	return m.Run()
}

// StartTestManager runs bin as ManagerUser with args (env added as ManagerSpec.Env), logging to
// a file named after the test; it is stopped when the test ends, and a failed test prints where
// the log is and, unless KEEP_LOGS keeps it, its last lines.
func (cp *ControlPlane) StartTestManager(t testing.TB, bin string, args []string, env ...string) *Manager {
	t.Helper()
	m, err := StartManager(ManagerSpec{Bin: bin, Kubeconfig: cp.ManagerKubeconfig, Args: args, Env: env,
		Log: filepath.Join(cp.Dir, filepath.Base(t.Name())+".log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("manager log: %s (KEEP_LOGS=1 keeps it)", m.LogPath())
			if os.Getenv("KEEP_LOGS") == "" {
				t.Logf("last lines:\n%s", tail(m.ReadLog(), 60))
			}
		}
	})
	return m
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			lines++
			if lines > n {
				return s[i+1:]
			}
		}
	}
	return s
}
