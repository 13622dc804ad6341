package reliability

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

var (
	cp         *harness.ControlPlane
	managerBin string
	ctx        = context.Background()
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	return harness.RunMain(m, "test/reliability", func(c *harness.ControlPlane, bin string) { cp, managerBin = c, bin })
}

// fastTalis is an emulator whose instances are ready in about half a second.
func fastTalis(t testing.TB) (*emulator.Server, string) {
	t.Helper()
	emu := emulator.New(emulator.Config{Seed: 7, Delays: emulator.Delays{
		Pickup: 50 * time.Millisecond, Create: 150 * time.Millisecond, Ready: 50 * time.Millisecond,
		Provision: 100 * time.Millisecond, Terminate: 100 * time.Millisecond}})
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu, url
}

// managerArgs are harness.ManagerArgs: short intervals for tests plus extra flags.
func managerArgs(talisURL string, extra ...string) []string {
	return harness.ManagerArgs(talisURL, extra...)
}

// startManager runs the manager binary as the RBAC-restricted user; it is stopped when the test ends.
func startManager(t testing.TB, args []string, env ...string) *harness.Manager {
	t.Helper()
	return cp.StartTestManager(t, managerBin, args, env...)
}
