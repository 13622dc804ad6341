package harness

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// RunMain starts the shared control plane and builds the manager binary for a suite, hands both
// to ready, runs the tests and cleans up (KEEP_LOGS keeps the logs). It returns the exit code.
func RunMain(m *testing.M, suite string, ready func(cp *ControlPlane, managerBin string)) int {
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
	fmt.Fprintf(os.Stderr, "%s: control plane and manager binary ready in %s\n", suite, time.Since(start).Round(time.Second))
	return m.Run()
}
