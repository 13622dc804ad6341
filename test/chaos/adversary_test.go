package chaos

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// The kinds of event TestAdversary draws. Each varies something the kill and fault suites keep
// fixed.
const (
	// evRestart: the manager restarted (SIGKILL or SIGTERM) with another --talis-timeout,
	// --terminate-settle and --max-clock-skew, and --talis-url spelt differently.
	evRestart = "restart"
	// evClusterID: a manager with another --cluster-id for a while, then the original again.
	evClusterID = "cluster-id"
	// evTalisURL: a manager whose --talis-url is another gateway to the same Talis for a while.
	evTalisURL = "talis-url"
	// evHandover: a second manager (--leader-elect, other flags) alive beside the first, which
	// is then killed, paused past its lease, or stopped.
	evHandover = "handover"
	// evHeld: the gateways hold create calls longer than any manager's window.
	evHeld = "held-creates"
	// evForge: a tenant whose Role grants status writes forges status.
	evForge = "forged-status"
	// evOrphan: Orphan deletion, re-creation, maybe a rename while the Secret is missing.
	evOrphan = "orphan-recreate"
	// evRotate: a tenant's API key rotated in its Secret, the old one then revoked in Talis.
	evRotate = "key-rotation"
	// evFaults: Talis answering 5xx and slowly for a while.
	evFaults = "faults"
)

var eventKinds = []string{evRestart, evClusterID, evTalisURL, evHandover, evHeld, evForge, evOrphan, evRotate, evFaults}

const (
	// adversaryBudget is how long events are drawn: first every kind once, in a random order,
	// then random kinds while the budget lasts.
	adversaryBudget = 150 * time.Second
	// longestWindow is the latest any manager of this test may still expect a create to land:
	// the longest --talis-timeout, the ambiguity window (15 s), the largest --max-clock-skew and
	// a second of timestamp precision. Held creates are held longer.
	longestWindow = 15*time.Second + 15*time.Second + 5*time.Second + time.Second
)

var (
	talisTimeouts = []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second}
	settles       = []time.Duration{3 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second}
	skews         = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second}
)

// managerFlags are the flags TestAdversary varies between manager processes.
type managerFlags struct {
	url, cluster          string
	timeout, settle, skew time.Duration
}

func (f managerFlags) String() string {
	return fmt.Sprintf("--talis-url %s --cluster-id %s --talis-timeout %s --terminate-settle %s --max-clock-skew %s",
		f.url, f.cluster, f.timeout, f.settle, f.skew)
}

// advTenant is a namespace with one TalisProject "p" (deletionPolicy Delete) and sets that the
// churn scales, rolls, adds and deletes.
type advTenant struct {
	ns     string
	c      client.Client // who writes its objects
	secret bool          // the project names its own key Secret ("creds"); else the manager's key
	key    string
	gen    int
	next   int
}

type orphanState int

const (
	orphanFresh  orphanState = iota // nothing yet
	orphanActive                    // project and set exist (both deletionPolicy Orphan)
	orphanLeft                      // the set was orphaned and not re-created; the project exists
)

// orphanNS is a namespace for Orphan → re-create → rename sequences; its project and set have
// deletionPolicy Orphan and are never churned.
type orphanNS struct {
	ns      string
	key     string
	gen     int
	state   orphanState
	renames int
	created bool // a Talis project was ever created for it (Orphan: it stays)
}

// forgedSet is a set the forger created with another set's identity in its status.
type forgedSet struct {
	key   harness.SetKey
	fakes []int64
}

type window struct {
	kind     string
	from, to time.Time
}

type adversary struct {
	t           *testing.T
	seed        uint64
	rng         *rand.Rand // events
	churnRng    *rand.Rand
	emu         *emulator.Server
	gwA, gwB    *harness.Proxy   // two gateways to one Talis: --talis-url is A, or B in a window
	managerKey  string           // the key manager processes start with now
	managerKeys map[string]bool  // every key the manager ever had
	testKey     string           // the test's own, straight to the emulator
	tc          *talis.APIClient // the test's own client, straight to the emulator
	began       time.Time

	namespaces []string
	tenants    []*advTenant // [0] uses the manager's key, [1] and [2] their own, [3] the forger
	forger     *advTenant   // writes status too (a Role with resources ["*"])
	orphans    []*orphanNS
	flags      managerFlags // of the manager that should be running
	procs      []*harness.Manager
	alive      []*harness.Manager
	counts     map[string]int
	windows    []window
	forged     []forgedSet
	forgeDeck  []func()
	drawn      []string

	mu         sync.Mutex // the fields below; the churn runs beside the events
	fleet      harness.Fleet
	churnable  map[harness.SetKey]bool
	busy       map[harness.SetKey]bool
	keyOwner   map[string]string // every API key ever valid → its namespace
	valid      map[string]bool   // the keys Talis accepts now
	projectNS  map[string]string // Talis project name → namespace
	identityNS map[string]string // set identity → namespace
	// incarnations are when the test created each set (more than once for a name it re-created).
	incarnations map[harness.SetKey][]time.Time
	// viaB are the Talis projects created while --talis-url was gateway B: they stay there.
	viaB map[string]bool
	// deletedAt is when the test asked for each set's deletion.
	deletedAt map[harness.SetKey]time.Time
	// holdGen and faultGen name the latest hold and fault periods: an earlier one's timer does
	// not end a later one.
	holdGen, faultGen int
}

// TestAdversary draws, besides kills and faults, what the other suites never vary: manager
// restarts with other --talis-timeout, --talis-url, --cluster-id, --terminate-settle and
// --max-clock-skew; two managers alive at once across a handover; creates held longer than every
// window; status forged by a tenant whose Role grants status writes; Orphan → re-create → rename
// sequences; API key rotations. Five namespaces' sets are scaled, rolled, added and deleted all
// along. Then everything converges and is deleted, and the emulator's ledger and the wire log
// of both gateways must show: each set exactly its replicas, nothing created twice or sent late
// (CheckFleet, AuditCreates, AuditProtocol; an attempt number a re-created set used again after
// every instance of its first use was terminated is reported, see reusedAttempts); nothing live
// that no set owns but what Orphan deletions left (a create that lands after its set's deletion is
// swept), and every Talis project of a deleted Delete-policy TalisProject gone; no create,
// terminate or project write while a manager ran with another --cluster-id; the manager's key
// never at a URL that is not its --talis-url, and every project's calls at the URL it was created
// at; every instance in its own tenant's Talis project, and every create, terminate, project write
// and task read made with a tenant's key about that tenant's projects and instances only.
func TestAdversary(t *testing.T) {
	s := seed(t)
	a := newAdversary(t, s)
	a.setup()
	phase := time.Now()
	a.run()
	t.Logf("%s events done after %s; converging", a.since(), time.Since(phase).Round(time.Second))
	a.converge()
	a.teardown()
	kinds := map[string]int{}
	for _, k := range a.drawn {
		kinds[k]++
	}
	t.Logf("ADVERSARY %s: events drawn %s; details %s; manager processes %d", time.Since(a.began).Round(time.Second),
		countList(kinds), countList(a.counts), len(a.procs))
}

func newAdversary(t *testing.T, s uint64) *adversary {
	a := &adversary{t: t, seed: s, rng: newRand(s, 11), churnRng: newRand(s, 12), managerKey: "manager-key-0", testKey: "test-key", managerKeys: map[string]bool{"manager-key-0": true},
		counts: map[string]int{}, churnable: map[harness.SetKey]bool{}, busy: map[harness.SetKey]bool{},
		keyOwner: map[string]string{}, valid: map[string]bool{}, projectNS: map[string]string{}, identityNS: map[string]string{},
		deletedAt: map[harness.SetKey]time.Time{}, viaB: map[string]bool{}, incarnations: map[harness.SetKey][]time.Time{},
		fleet: harness.Fleet{Active: map[harness.SetKey]int{}, Orphaned: map[harness.SetKey][]int64{}}, began: time.Now()}
	a.emu, a.gwA = talisBehindProxy(t, s, emulator.Delays{Pickup: 50 * time.Millisecond, Create: 250 * time.Millisecond,
		Ready: 100 * time.Millisecond, Terminate: 150 * time.Millisecond})
	var err error
	if a.gwB, err = harness.NewProxy(a.emu.URL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.gwB.Close() })
	if a.tc, err = talis.NewClient(&talis.Options{BaseURL: a.emu.URL(), APIKey: a.testKey}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, m := range a.procs {
			m.Stop()
		}
		if t.Failed() {
			for i, m := range a.procs {
				t.Logf("manager #%d log: %s (KEEP_LOGS=1 keeps it)", i, m.LogPath())
			}
			if n := len(a.procs); n > 0 {
				t.Logf("last lines of manager #%d:\n%s", n-1, a.procs[n-1].Tail(60))
			}
		}
	})
	return a
}

func (a *adversary) since() string { return time.Since(a.began).Round(100 * time.Millisecond).String() }

func (a *adversary) logf(format string, args ...any) {
	a.t.Helper()
	a.t.Logf("%7s "+format, append([]any{a.since()}, args...)...)
}

// sleep waits a random time in [min, max).
func (a *adversary) sleep(minD, maxD time.Duration) {
	time.Sleep(minD + time.Duration(a.rng.Int64N(int64(maxD-minD))))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
