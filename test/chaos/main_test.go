// Package chaos holds the long reliability suites, run by `make test-chaos` (CHAOS=1) and skipped
// by `make test`:
//
//   - kills_test.go: the manager binary SIGKILLed at random moments (at least 50 times) while 20
//     sets scale up and down, roll their template and are deleted and replaced; the end state is
//     checked against the Talis emulator's ledger and the create calls seen on the wire;
//   - faults_test.go: Talis failing in every way the emulator can (5xx, timeouts and lost
//     responses, slow answers, 429 bursts with Retry-After, failed and never-ready tasks,
//     restarts): the fleet converges without duplicates, Retry-After is honoured (measured by a
//     recording proxy) and conditions and events say what is wrong while it lasts;
//   - protocol_test.go: the create protocol at its edges: a gateway that holds create calls past
//     their deadline and past the ambiguity window, slow and failing terminates, and a leader
//     paused (SIGSTOP) across a handover; the wire log and the ledger must show no create sent
//     after its deadline and none that reached Talis in time given up on (harness.AuditProtocol);
//   - adversary_test.go: what the suites above keep fixed, drawn at random while five namespaces'
//     sets scale, roll, come and go: manager restarts with other --talis-timeout,
//     --terminate-settle, --max-clock-skew and --talis-url spellings; windows with another
//     --cluster-id (nothing may be written to Talis) and another --talis-url (the manager's key
//     only goes there; projects stay where they were created); two managers alive across a
//     handover (the older one killed, paused past its lease or stopped); creates held longer than
//     every window (some sets deleted meanwhile: the sweep must take the late arrivals); status
//     forged by a tenant whose Role grants it (another tenant's project, another set's identity,
//     other tenants' instances, a URL that is not allowed, another namespace's orphaned project);
//     Orphan deletion, re-creation and rename without the Secret; API key rotations (tenants' and
//     the manager's); Talis faults. Each kind is drawn at least once and counted. The ledger and
//     both gateways' wire logs must show CheckFleet's invariants, nothing live but what Orphan
//     deletions left, and no create, terminate, project write or task read made with a tenant's
//     key about another tenant's project or instances.
//
// CHAOS_SEED fixes the random schedule of operations, kills and events (timing still varies).
package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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
	if os.Getenv("CHAOS") == "" {
		fmt.Println("test/chaos: skipped (run `make test-chaos`, or set CHAOS=1)")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	return harness.RunMain(m, "test/chaos", func(c *harness.ControlPlane, bin string) { cp, managerBin = c, bin })
}

// seed returns CHAOS_SEED or a fresh seed, logged so that a failure can be replayed.
func seed(t *testing.T) uint64 {
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
	}
	t.Logf("CHAOS_SEED=%d", s)
	return s
}

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// talisBehindProxy starts an emulator (restarts take 2 s) behind a recording proxy. Its workers
// lock a task for 30 s, not upstream's 5 min, scaled down like the suites' other times (a 6 s
// provisioningTimeout, --terminate-settle 10s): a set stops watching an instance terminated while
// its create task still runs only once Talis shows the task done or that lock expired, and the
// emulator's never-ready create tasks run for ever.
func talisBehindProxy(t *testing.T, seed uint64, d emulator.Delays) (*emulator.Server, *harness.Proxy) {
	return harness.TalisBehindProxy(t, emulator.Config{Seed: seed, Delays: d, RestartDowntime: 2 * time.Second,
		LockDuration: 30 * time.Second})
}

func startManager(t *testing.T, args []string) *harness.Manager {
	t.Helper()
	return cp.StartTestManager(t, managerBin, args)
}
