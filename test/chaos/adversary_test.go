package chaos

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
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

// ---- setup ----

func (a *adversary) setup() {
	t := a.t
	newNS := func(prefix string) string {
		ns, err := cp.NewNamespace(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		a.namespaces = append(a.namespaces, ns)
		return ns
	}
	for i, prefix := range []string{"adv-shared", "adv-t1", "adv-t2", "adv-forger"} {
		tn := &advTenant{ns: newNS(prefix), c: cp.Client, secret: i > 0}
		a.tenants = append(a.tenants, tn)
	}
	for range 2 {
		a.orphans = append(a.orphans, &orphanNS{ns: newNS("adv-orph")})
	}
	a.forger = a.tenants[3]
	a.forger.c = a.newStatusWriter(a.forger.ns)

	a.allowKey(a.managerKey, a.tenants[0].ns)
	a.allowKey(a.testKey, "(the test)")
	for _, tn := range a.tenants {
		a.projectNS[harness.ProjectName(tn.ns, "p")] = tn.ns
		if tn.secret {
			tn.key = fmt.Sprintf("key-%s-0", tn.ns)
			a.allowKey(tn.key, tn.ns)
			if err := cp.Client.Create(ctx, credsSecret(tn.ns, tn.key)); err != nil {
				t.Fatal(err)
			}
		}
		p := harness.Project(tn.ns, "p")
		if tn.secret {
			p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "apiKey"}}
		}
		if err := tn.c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			a.addSet(tn, 1+a.rng.Int32N(3))
		}
	}
	for _, o := range a.orphans {
		a.projectNS[harness.ProjectName(o.ns, "p")] = o.ns
	}
	a.emu.SetFaults(baseFaults())

	a.flags = managerFlags{url: a.gwA.URL(), cluster: harness.ClusterID, timeout: 5 * time.Second, settle: 10 * time.Second, skew: 2 * time.Second}
	a.start(a.flags)
	for key, n := range a.fleetActive() {
		harness.Eventually(t, 3*time.Minute, key.String()+" ready", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
	}
	a.logf("setup: %d namespaces, %d sets ready", len(a.namespaces), len(a.fleetActive()))
}

// baseFaults slows create and terminate calls a little, as in TestRandomKills, so that restarts
// and handovers find calls in flight.
func baseFaults() emulator.Faults {
	return emulator.Faults{Routes: map[string]emulator.RouteFault{
		"POST /api/v1/instances":   {Latency: 200 * time.Millisecond, Jitter: 400 * time.Millisecond},
		"DELETE /api/v1/instances": {Latency: 100 * time.Millisecond, Jitter: 300 * time.Millisecond},
	}}
}

func credsSecret(ns, key string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
		StringData: map[string]string{"apiKey": key}}
}

// newStatusWriter is a user bound in ns to a Role over every resource of infra.talis.io: status
// included, which the README tells admins never to grant.
func (a *adversary) newStatusWriter(ns string) client.Client {
	t := a.t
	name := "forger-" + ns
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{infrav1.GroupVersion.Group}, Resources: []string{"*"}, Verbs: []string{"*"}}}}
	if err := cp.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(ctx, role) })
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}
	if err := cp.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	log.SetLogger(logr.Discard())
	user, err := cp.Env.ControlPlane.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(user.Config(), client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ---- keys ----

func (a *adversary) allowKey(key, ns string) {
	a.mu.Lock()
	a.keyOwner[key], a.valid[key] = ns, true
	keys := slices.Collect(maps.Keys(a.valid))
	a.mu.Unlock()
	a.emu.SetAPIKeys(keys...)
}

func (a *adversary) revokeKey(key string) {
	a.mu.Lock()
	delete(a.valid, key)
	keys := slices.Collect(maps.Keys(a.valid))
	a.mu.Unlock()
	a.emu.SetAPIKeys(keys...)
}

func (a *adversary) writeKey(ns, key string) {
	a.t.Helper()
	var sec corev1.Secret
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &sec); err != nil {
		a.t.Fatal(err)
	}
	sec.Data = map[string][]byte{"apiKey": []byte(key)}
	if err := cp.Client.Update(ctx, &sec); err != nil {
		a.t.Fatal(err)
	}
}

// ---- the fleet ----

func (a *adversary) fleetActive() map[harness.SetKey]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.fleet.Active)
}

func (a *adversary) expected() harness.Fleet {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := harness.Fleet{Active: maps.Clone(a.fleet.Active), Deleted: slices.Clone(a.fleet.Deleted), Orphaned: map[harness.SetKey][]int64{}}
	for k, v := range a.fleet.Orphaned {
		f.Orphaned[k] = slices.Clone(v)
	}
	return f
}

func (a *adversary) addSet(tn *advTenant, replicas int32) {
	set := newChaosSet(tn.ns, tn.next, replicas)
	tn.next++
	if err := tn.c.Create(ctx, set); err != nil {
		a.t.Errorf("creating %s/%s: %v", set.Namespace, set.Name, err)
		return
	}
	key := harness.SetKey{Namespace: set.Namespace, Name: set.Name}
	a.mu.Lock()
	a.fleet.Active[key] = int(replicas)
	a.churnable[key] = true
	a.identityNS[key.Identity()] = key.Namespace
	a.mu.Unlock()
}

func setObj(key harness.SetKey) *infrav1.TalisInstanceSet {
	s := &infrav1.TalisInstanceSet{}
	s.Namespace, s.Name = key.Namespace, key.Name
	return s
}

func (a *adversary) clientFor(ns string) client.Client {
	if ns == a.forger.ns {
		return a.forger.c
	}
	return cp.Client
}

// churnSets lists the sets of a namespace the churn may touch.
func (a *adversary) churnSets(ns string) []harness.SetKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []harness.SetKey
	for k := range a.churnable {
		if k.Namespace == ns && !a.busy[k] {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(x, y harness.SetKey) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// churn scales, rolls, adds and deletes the tenants' sets until stop is closed.
func (a *adversary) churn(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	r := a.churnRng
	for {
		select {
		case <-stop:
			return
		case <-time.After(600*time.Millisecond + time.Duration(r.Int64N(int64(900*time.Millisecond)))):
		}
		tn := pick(r, a.tenants)
		keys := a.churnSets(tn.ns)
		c := a.clientFor(tn.ns)
		switch p := r.IntN(20); {
		case len(keys) == 0 || (p < 2 && len(keys) < 4):
			a.addSet(tn, r.Int32N(4))
			a.count("churn-add")
		case p < 11:
			key := pick(r, keys)
			n := r.Int32N(5)
			if err := harness.Patch(ctx, c, setObj(key), func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
				a.t.Errorf("scaling %s: %v", key, err)
				return
			}
			a.mu.Lock()
			a.fleet.Active[key] = int(n)
			a.mu.Unlock()
			a.count("churn-scale")
		case p < 17:
			key := pick(r, keys)
			if err := harness.Patch(ctx, c, setObj(key), func(s *infrav1.TalisInstanceSet) {
				s.Spec.Template.Size = sizes[(slices.Index(sizes, s.Spec.Template.Size)+1)%len(sizes)]
			}); err != nil {
				a.t.Errorf("rolling %s: %v", key, err)
				return
			}
			a.count("churn-roll")
		case len(keys) > 1:
			key := pick(r, keys)
			a.mu.Lock()
			a.deletedAt[key] = time.Now()
			a.mu.Unlock()
			if err := c.Delete(ctx, setObj(key)); err != nil {
				a.t.Errorf("deleting %s: %v", key, err)
				return
			}
			a.mu.Lock()
			delete(a.fleet.Active, key)
			delete(a.churnable, key)
			a.fleet.Deleted = append(a.fleet.Deleted, key)
			a.mu.Unlock()
			a.count("churn-delete")
		}
	}
}

func (a *adversary) count(what string) {
	a.mu.Lock()
	a.counts[what]++
	a.mu.Unlock()
}

// ---- managers ----

func (a *adversary) args(f managerFlags) []string {
	return harness.ManagerArgs(f.url, "--cluster-id", f.cluster, "--talis-timeout", f.timeout.String(),
		"--terminate-settle", f.settle.String(), "--max-clock-skew", f.skew.String(),
		"--leader-elect", "--leader-election-namespace", harness.ManagerNamespace,
		"--allowed-talis-urls", a.gwA.URL()+","+a.gwB.URL(),
		"--watch-namespaces", strings.Join(a.namespaces, ","),
		"--resync-period", "20s", "--drift-interval", "10s")
}

func (a *adversary) start(f managerFlags) *harness.Manager {
	a.t.Helper()
	m, err := harness.StartManager(harness.ManagerSpec{Bin: managerBin, Kubeconfig: cp.ManagerKubeconfig, Args: a.args(f),
		Env: []string{"TALIS_API_KEY=" + a.managerKey},
		Log: filepath.Join(cp.Dir, fmt.Sprintf("%s-%02d.log", a.t.Name(), len(a.procs)))})
	if err != nil {
		a.t.Fatal(err)
	}
	a.procs = append(a.procs, m)
	a.alive = append(a.alive, m)
	a.count(fmt.Sprintf("flag --talis-timeout=%s", f.timeout))
	a.count(fmt.Sprintf("flag --terminate-settle=%s", f.settle))
	a.count(fmt.Sprintf("flag --max-clock-skew=%s", f.skew))
	a.logf("manager #%d started: %s", len(a.procs)-1, f)
	return m
}

// prune forgets processes that exited (a resumed leader that lost its lease exits).
func (a *adversary) prune() {
	a.alive = slices.DeleteFunc(a.alive, func(m *harness.Manager) bool { return !m.Running() })
}

// stopAll ends every manager process, each with SIGKILL or SIGTERM at random.
func (a *adversary) stopAll() {
	for _, m := range a.alive {
		if a.rng.IntN(2) == 0 {
			if m.Kill() {
				a.count("stop-sigkill")
			}
		} else {
			m.Stop()
			a.count("stop-sigterm")
		}
	}
	a.alive = nil
}

// randomTiming keeps the running URL and cluster ID and draws the rest; the URL is sometimes
// spelt with a trailing slash (the same endpoint).
func (a *adversary) randomTiming() managerFlags {
	f := managerFlags{url: a.gwA.URL(), cluster: harness.ClusterID,
		timeout: pick(a.rng, talisTimeouts), settle: pick(a.rng, settles), skew: pick(a.rng, skews)}
	if a.rng.IntN(3) == 0 {
		f.url += "/"
		a.count("url-respelt")
	}
	return f
}

// ---- events ----

func (a *adversary) run() {
	deck := slices.Clone(eventKinds)
	a.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
	stop, done := make(chan struct{}), make(chan struct{})
	go a.churn(stop, done)
	defer func() {
		close(stop)
		<-done
	}()
	start := time.Now()
	for !a.t.Failed() {
		var kind string
		switch {
		case len(deck) > 0:
			kind, deck = deck[0], deck[1:]
		case time.Since(start) < adversaryBudget:
			kind = pick(a.rng, eventKinds)
		default:
			return
		}
		a.drawn = append(a.drawn, kind)
		a.logf("event %d: %s", len(a.drawn), kind)
		switch kind {
		case evRestart:
			a.restart()
		case evClusterID:
			a.otherClusterID()
		case evTalisURL:
			a.otherTalisURL()
		case evHandover:
			a.handover()
		case evHeld:
			a.holdCreates()
		case evForge:
			a.forge()
		case evOrphan:
			a.orphanSequence()
		case evRotate:
			a.rotateKey()
		case evFaults:
			a.faults()
		}
		a.prune()
		if len(a.alive) == 0 {
			a.start(a.flags)
		}
		a.sleep(time.Second, 3*time.Second)
	}
}

func (a *adversary) restart() {
	f := a.randomTiming()
	a.stopAll()
	a.flags = f
	a.start(f)
	a.sleep(3*time.Second, 8*time.Second)
}

// waitReason waits for a project's or a set's status.reason to be one of reasons, and fails the
// test (without stopping it) if it never is.
func (a *adversary) waitReason(what string, obj client.Object, timeout time.Duration, reasons ...string) {
	a.t.Helper()
	err := harness.Wait(timeout, 250*time.Millisecond, func() error {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		var got string
		switch o := obj.(type) {
		case *infrav1.TalisProject:
			got = o.Status.Reason
		case *infrav1.TalisInstanceSet:
			got = o.Status.Reason
		}
		if !slices.Contains(reasons, got) {
			return fmt.Errorf("status.reason %q, want one of %v", got, reasons)
		}
		return nil
	})
	if err != nil {
		a.t.Errorf("%s: %s %s/%s: %v", what, obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), err)
	}
}

// otherClusterID runs a manager with another --cluster-id alone for a while: every Talis
// project carries this cluster's creator marker, so projects and sets stop and nothing may be
// created, terminated or written in Talis (checked on the wire afterwards); then the original
// ID comes back and the fleet goes on.
func (a *adversary) otherClusterID() {
	wrong := a.flags
	wrong.cluster = fmt.Sprintf("other-%08x", a.rng.Uint32())
	a.stopAll()
	from := time.Now()
	a.start(wrong)
	// The shared project was Ready: the other ID's manager has started acting once it stops.
	a.waitReason("with another --cluster-id", harness.Project(a.tenants[0].ns, "p"), 60*time.Second, infrav1.ReasonNotOwned)
	a.sleep(4*time.Second, 10*time.Second)
	a.stopAll()
	a.windows = append(a.windows, window{kind: evClusterID, from: from, to: time.Now()})
	a.start(a.flags)
}

// otherTalisURL runs a manager whose --talis-url is the second gateway: projects on the
// manager's key stay at the URL they were created at and stop (EndpointChanged), as the
// manager's key only goes to its own URL; projects with their own key go on there.
func (a *adversary) otherTalisURL() {
	other := a.flags
	other.url = a.gwB.URL()
	a.stopAll()
	from := time.Now()
	a.start(other)
	a.waitReason("with another --talis-url", harness.Project(a.tenants[0].ns, "p"), 60*time.Second, infrav1.ReasonEndpointChanged)
	if tn := a.tenants[1]; len(a.viaB) == 0 {
		// A project with its own key created now lives at B from now on, whatever the flag.
		q := harness.Project(tn.ns, "q")
		q.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "apiKey"}}
		a.create(q)
		a.mu.Lock()
		a.projectNS[harness.ProjectName(tn.ns, "q")] = tn.ns
		a.viaB[harness.ProjectName(tn.ns, "q")] = true
		a.mu.Unlock()
		set := harness.Set(tn.ns, "q00", "q", 1+a.rng.Int32N(2))
		a.create(set)
		key := harness.SetKey{Namespace: tn.ns, Name: "q00"}
		a.mu.Lock()
		a.fleet.Active[key] = int(*set.Spec.Replicas)
		a.churnable[key] = true
		a.identityNS[key.Identity()] = tn.ns
		a.mu.Unlock()
		harness.Eventually(a.t, 60*time.Second, "a project created at gateway B", func() error { return harness.ProjectReady(ctx, cp.Client, tn.ns, "q") })
		a.count("project-created-at-B")
		a.logf("%s/q created at gateway B", tn.ns)
	}
	a.sleep(4*time.Second, 10*time.Second)
	a.stopAll()
	a.windows = append(a.windows, window{kind: evTalisURL, from: from, to: time.Now()})
	a.start(a.flags)
}

// handover starts a second manager beside the running one, then kills, pauses (past the 15 s
// lease) or stops one of the older ones.
func (a *adversary) handover() {
	a.prune()
	if len(a.alive) == 0 {
		a.start(a.flags)
		a.sleep(2*time.Second, 4*time.Second)
	}
	older := pick(a.rng, a.alive)
	f := a.randomTiming()
	a.start(f)
	a.flags = f
	a.sleep(2*time.Second, 6*time.Second)
	switch a.rng.IntN(3) {
	case 0:
		older.Kill()
		a.count("handover-sigkill")
	case 1:
		older.Pause()
		a.count("handover-pause")
		time.Sleep(20 * time.Second)
		older.Resume() // a leader that lost its lease exits; a standby stays
	default:
		older.Stop()
		a.count("handover-sigterm")
	}
	a.sleep(2*time.Second, 5*time.Second)
}

// holdCreates makes both gateways hold create calls past every window any manager promises,
// for a while that outlasts this event (so later events find creates held), and scales some
// sets up so that there are creates to hold; sometimes one of those sets is then deleted while
// its create is held.
func (a *adversary) holdCreates() {
	rate := 0.3 + 0.4*a.rng.Float64()
	minHold := longestWindow + 2*time.Second
	a.gwA.HoldCreates(rate, minHold, minHold+8*time.Second, a.seed+uint64(len(a.drawn)))
	a.gwB.HoldCreates(rate, minHold, minHold+8*time.Second, a.seed+uint64(len(a.drawn))+1000)
	a.mu.Lock()
	a.holdGen++
	gen := a.holdGen
	a.mu.Unlock()
	lasts := 10*time.Second + time.Duration(a.rng.Int64N(int64(30*time.Second)))
	time.AfterFunc(lasts, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.holdGen == gen {
			a.gwA.HoldCreates(0, 0, 0, 0)
			a.gwB.HoldCreates(0, 0, 0, 0)
		}
	})
	a.logf("gateways hold %.0f%% of creates %s-%s, for %s", rate*100, minHold, minHold+8*time.Second, lasts.Round(time.Second))
	var scaled []harness.SetKey
	for range 3 {
		tn := pick(a.rng, a.tenants[:3])
		keys := a.churnSets(tn.ns)
		if len(keys) == 0 {
			continue
		}
		key := keys[a.rng.IntN(len(keys))]
		n := 3 + a.rng.Int32N(3)
		if err := harness.Patch(ctx, cp.Client, setObj(key), func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
			a.t.Errorf("scaling %s: %v", key, err)
			return
		}
		a.mu.Lock()
		a.fleet.Active[key] = int(n)
		a.mu.Unlock()
		scaled = append(scaled, key)
		time.Sleep(time.Second)
	}
	if len(scaled) > 0 && a.rng.IntN(2) == 0 {
		time.Sleep(3 * time.Second)
		key := pick(a.rng, scaled)
		a.mu.Lock()
		if !a.churnable[key] || a.busy[key] {
			a.mu.Unlock()
			return
		}
		delete(a.fleet.Active, key)
		delete(a.churnable, key)
		a.fleet.Deleted = append(a.fleet.Deleted, key)
		a.deletedAt[key] = time.Now()
		a.mu.Unlock()
		if err := cp.Client.Delete(ctx, setObj(key)); err != nil {
			a.t.Errorf("deleting %s: %v", key, err)
			return
		}
		a.count("held-then-deleted")
		a.logf("deleted %s while its creates may be held", key)
	}
	a.sleep(2*time.Second, 5*time.Second)
}

// faults makes Talis fail 5-15% of calls and answer slowly, for a while that outlasts this event.
func (a *adversary) faults() {
	a.emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
		"*":                      {ErrorRate: 0.05, GatewayErrorRate: 0.05, GatewayStatus: 503, Latency: 50 * time.Millisecond, Jitter: 250 * time.Millisecond},
		"POST /api/v1/instances": {ErrorRate: 0.1, Latency: 200 * time.Millisecond, Jitter: 400 * time.Millisecond},
	}})
	a.mu.Lock()
	a.faultGen++
	gen := a.faultGen
	a.mu.Unlock()
	lasts := 8*time.Second + time.Duration(a.rng.Int64N(int64(20*time.Second)))
	time.AfterFunc(lasts, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.faultGen == gen {
			a.emu.SetFaults(baseFaults())
		}
	})
	a.logf("Talis faults for %s", lasts.Round(time.Second))
	a.sleep(3*time.Second, 6*time.Second)
}

// rotateKey writes a new key into a tenant's Secret (Talis accepting it first) and then revokes
// the old one in Talis.
func (a *adversary) rotateKey() {
	if a.rng.IntN(4) == 0 {
		// The manager's own key: Talis accepts the new one, the managers restart with it, the
		// old one is revoked.
		old := a.managerKey
		a.managerKey = fmt.Sprintf("manager-key-%d", len(a.managerKeys))
		a.mu.Lock()
		a.managerKeys[a.managerKey] = true
		a.mu.Unlock()
		a.allowKey(a.managerKey, a.tenants[0].ns)
		a.stopAll()
		a.start(a.flags)
		a.sleep(100*time.Millisecond, 4*time.Second)
		a.revokeKey(old)
		a.count("rotated-manager-key")
		a.logf("rotated the manager's key")
		a.sleep(2*time.Second, 5*time.Second)
		return
	}
	type holder struct {
		ns  string
		key *string
		gen *int
	}
	var cands []holder
	for _, tn := range a.tenants {
		if tn.secret {
			cands = append(cands, holder{tn.ns, &tn.key, &tn.gen})
		}
	}
	for _, o := range a.orphans {
		if o.state != orphanFresh {
			cands = append(cands, holder{o.ns, &o.key, &o.gen})
		}
	}
	h := pick(a.rng, cands)
	old := *h.key
	*h.gen++
	*h.key = fmt.Sprintf("key-%s-%d", h.ns, *h.gen)
	a.allowKey(*h.key, h.ns)
	a.writeKey(h.ns, *h.key)
	a.sleep(100*time.Millisecond, 4*time.Second)
	a.revokeKey(old)
	a.count("rotated-tenant-key")
	a.logf("rotated the key of %s", h.ns)
	a.sleep(2*time.Second, 5*time.Second)
}

// ---- forged status ----

// forge draws the next kind of forgery from a shuffled deck of them (the fifth kind,
// forgeAdoptOrphaned, belongs to the Orphan sequence).
func (a *adversary) forge() {
	if len(a.forgeDeck) == 0 {
		a.forgeDeck = []func(){a.forgeProject, a.forgeEndpoint, a.forgeIdentity, a.forgeInstances}
		a.rng.Shuffle(len(a.forgeDeck), func(i, j int) { a.forgeDeck[i], a.forgeDeck[j] = a.forgeDeck[j], a.forgeDeck[i] })
	}
	next := a.forgeDeck[0]
	a.forgeDeck = a.forgeDeck[1:]
	next()
}

func forgeStatus[T client.Object](a *adversary, obj T, mutate func(T)) {
	a.t.Helper()
	harness.Eventually(a.t, 20*time.Second, "status forged", func() error {
		if err := a.forger.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return a.forger.c.Status().Update(ctx, obj)
	})
}

// victimSet is an active set of a tenant other than the forger with live instances, and those.
func (a *adversary) victimSet() (harness.SetKey, []int64, bool) {
	by := harness.LedgerByIdentity(a.emu.Ledger())
	var keys []harness.SetKey
	for k := range a.fleetActive() {
		if k.Namespace != a.forger.ns && len(by[k.Identity()].LiveIDs()) > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return harness.SetKey{}, nil, false
	}
	slices.SortFunc(keys, func(x, y harness.SetKey) int { return strings.Compare(x.String(), y.String()) })
	k := pick(a.rng, keys)
	return k, by[k.Identity()].LiveIDs(), true
}

// fakeEntries are status entries for instances of another tenant, as a forger would write them.
func (a *adversary) fakeEntries(ids []int64) []infrav1.TalisInstance {
	var out []infrav1.TalisInstance
	for _, id := range ids {
		at := metav1.NewTime(time.Now().Add(pick(a.rng, []time.Duration{-2 * time.Minute, 0, time.Hour})))
		in := infrav1.TalisInstance{ID: id, Name: fmt.Sprintf("fake-%d", id), State: pick(a.rng, []string{"ready", "provisioning", "created"}),
			CreatedAt: &at, TemplateHash: pick(a.rng, []string{"", "0123456789abcdef"})}
		if in.State == "ready" {
			in.ReadyAt = &at
		}
		out = append(out, in)
	}
	return out
}

// forgeProject points the forger's TalisProject at another tenant's Talis project (sometimes
// with the adopt annotation): it and its sets must stop, and nothing may reach that project;
// then the forger writes its own project back and they go on.
func (a *adversary) forgeProject() {
	victim := pick(a.rng, a.tenants[:3])
	var vp infrav1.TalisProject
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: victim.ns, Name: "p"}, &vp); err != nil {
		a.t.Fatal(err)
	}
	own := harness.Project(a.forger.ns, "p")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(own), own); err != nil {
		a.t.Fatal(err)
	}
	name, id := own.Status.ProjectName, own.Status.ProjectID
	adopt := a.rng.IntN(2) == 0
	if adopt {
		if err := harness.Patch(ctx, a.forger.c, own, func(p *infrav1.TalisProject) {
			p.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
		}); err != nil {
			a.t.Fatal(err)
		}
	}
	a.count("forge-project")
	a.logf("the forger's project now names %q (%s's), adopt %v", vp.Status.ProjectName, victim.ns, adopt)
	forgeStatus(a, own, func(p *infrav1.TalisProject) {
		p.Status.ProjectName, p.Status.ProjectID = vp.Status.ProjectName, vp.Status.ProjectID
	})
	a.waitReason("a TalisProject whose status names another tenant's Talis project", own, 45*time.Second, infrav1.ReasonNotOwned, infrav1.ReasonProjectInUse, infrav1.ReasonNameForbidden)
	a.sleep(3*time.Second, 8*time.Second)
	forgeStatus(a, own, func(p *infrav1.TalisProject) { p.Status.ProjectName, p.Status.ProjectID = name, id })
	if adopt {
		if err := harness.Patch(ctx, a.forger.c, own, func(p *infrav1.TalisProject) { delete(p.Annotations, infrav1.AdoptAnnotation) }); err != nil {
			a.t.Fatal(err)
		}
	}
	a.waitReason("the forger's project written back", own, 45*time.Second, infrav1.ReasonReady, infrav1.ReasonEndpointChanged)
}

// forgeEndpoint points the forger's TalisProject at a URL the manager does not allow: nothing
// may be sent there (EndpointNotAllowed), and with its endpoint written back it goes on.
func (a *adversary) forgeEndpoint() {
	own := harness.Project(a.forger.ns, "p")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(own), own); err != nil {
		a.t.Fatal(err)
	}
	endpoint := own.Status.Endpoint
	a.count("forge-endpoint")
	a.logf("the forger's project now says it lives at an URL that is not allowed")
	forgeStatus(a, own, func(p *infrav1.TalisProject) { p.Status.Endpoint = "http://127.0.0.1:9/forged" })
	a.waitReason("a TalisProject whose status names a URL that is not allowed", own, 45*time.Second, infrav1.ReasonEndpointNotAllowed)
	a.sleep(3*time.Second, 6*time.Second)
	forgeStatus(a, own, func(p *infrav1.TalisProject) { p.Status.Endpoint = endpoint })
	a.waitReason("the forger's endpoint written back", own, 45*time.Second, infrav1.ReasonReady)
}

// forgeIdentity creates a paused set whose status carries another tenant's set identity, maybe
// with that set's instances listed, then unpauses it: nothing may be created or terminated with
// it (IdentityNotDerived).
func (a *adversary) forgeIdentity() {
	victim, live, ok := a.victimSet()
	if !ok {
		return
	}
	key := harness.SetKey{Namespace: a.forger.ns, Name: fmt.Sprintf("forged%02d", len(a.forged))}
	set := harness.Set(key.Namespace, key.Name, "p", a.rng.Int32N(3))
	set.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
	if err := a.forger.c.Create(ctx, set); err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	a.identityNS[key.Identity()] = key.Namespace
	a.fleet.Deleted = append(a.fleet.Deleted, key) // it may own nothing
	a.mu.Unlock()
	var fakes []int64
	if a.rng.IntN(2) == 0 {
		fakes = live[:min(2, len(live))]
	}
	a.count("forge-identity")
	a.logf("%s forged with the identity of %s and entries %v", key, victim, fakes)
	forgeStatus(a, set, func(s *infrav1.TalisInstanceSet) {
		s.Status.Identity = victim.Identity()
		s.Status.Instances = a.fakeEntries(fakes)
	})
	if err := harness.Patch(ctx, a.forger.c, set, func(s *infrav1.TalisInstanceSet) { delete(s.Annotations, infrav1.PausedAnnotation) }); err != nil {
		a.t.Fatal(err)
	}
	a.waitReason("a set with a forged identity", set, 45*time.Second, infrav1.ReasonIdentityNotDerived)
	a.forged = append(a.forged, forgedSet{key: key, fakes: fakes})
}

// forgeInstances lists other tenants' instances in one of the forger's own sets for a while,
// then removes them (the forger's set may misbehave meanwhile: that is its own doing).
func (a *adversary) forgeInstances() {
	_, live, ok := a.victimSet()
	keys := a.churnSets(a.forger.ns)
	if !ok || len(keys) == 0 {
		return
	}
	key := pick(a.rng, keys)
	a.mu.Lock()
	a.busy[key] = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.busy, key)
		a.mu.Unlock()
	}()
	fakes := live[:min(1+a.rng.IntN(2), len(live))]
	a.count("forge-instances")
	a.logf("%s lists other tenants' instances %v", key, fakes)
	set := setObj(key)
	forgeStatus(a, set, func(s *infrav1.TalisInstanceSet) {
		s.Status.Instances = append(s.Status.Instances, a.fakeEntries(fakes)...)
	})
	a.sleep(4*time.Second, 9*time.Second)
	forgeStatus(a, set, func(s *infrav1.TalisInstanceSet) {
		s.Status.Instances = slices.DeleteFunc(s.Status.Instances, func(in infrav1.TalisInstance) bool { return slices.Contains(fakes, in.ID) })
	})
}

// ---- Orphan → re-create → rename ----

func orphanProject(ns string) *infrav1.TalisProject {
	p := harness.Project(ns, "p")
	p.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
	p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "apiKey"}}
	return p
}

func orphanSet(ns string, n int32) *infrav1.TalisInstanceSet {
	s := harness.Set(ns, "o", "p", n)
	s.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
	return s
}

// create creates o as the test's admin.
func (a *adversary) create(o client.Object) {
	a.t.Helper()
	if err := cp.Client.Create(ctx, o); err != nil {
		a.t.Fatal(err)
	}
}

func (a *adversary) deleteAndWait(o client.Object) {
	a.t.Helper()
	if err := cp.Client.Delete(ctx, o); err != nil {
		a.t.Fatal(err)
	}
	harness.Eventually(a.t, 90*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, o) })
}

// orphanSequence orphans a namespace's project and set, re-creates the project (half the time
// without its Secret first, then renamed, which must stop at the live instances and not delete
// the Talis project) and re-creates the set (which adopts the instances), or leaves the
// instances orphaned.
func (a *adversary) orphanSequence() {
	o := pick(a.rng, a.orphans)
	key := harness.SetKey{Namespace: o.ns, Name: "o"}
	a.mu.Lock()
	a.identityNS[key.Identity()] = o.ns
	a.mu.Unlock()
	talisName := harness.ProjectName(o.ns, "p")
	switch o.state {
	case orphanFresh:
		o.key = fmt.Sprintf("key-%s-0", o.ns)
		a.allowKey(o.key, o.ns)
		a.create(credsSecret(o.ns, o.key))
		a.create(orphanProject(o.ns))
		o.created = true
		n := 1 + a.rng.Int32N(3)
		a.bornAgain(key)
		a.create(orphanSet(o.ns, n))
		a.mu.Lock()
		a.fleet.Active[key] = int(n)
		a.mu.Unlock()
		o.state = orphanActive
		a.count("orphan-created")
		fallthrough
	case orphanActive:
		n := a.fleetActive()[key]
		harness.Eventually(a.t, 2*time.Minute, key.String()+" ready before orphaning", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
		live := harness.LedgerByIdentity(a.emu.Ledger())[key.Identity()].LiveIDs()
		a.mu.Lock()
		a.deletedAt[key] = time.Now()
		a.mu.Unlock()
		a.deleteAndWait(setObj(key))
		a.mu.Lock()
		delete(a.fleet.Active, key)
		a.fleet.Orphaned[key] = live
		a.mu.Unlock()
		a.deleteAndWait(harness.Project(o.ns, "p"))
		a.logf("orphaned %s: instances %v left in %q", key, live, talisName)
		a.count("orphan-deleted")
		if _, err := a.tc.GetProject(ctx, talis.ProjectGetParams{Name: talisName, OwnerID: talis.AdminOwnerID}); err != nil {
			a.t.Errorf("the Talis project %q of an Orphan deletion is gone: %v", talisName, err)
		}
		if a.rng.IntN(3) == 0 {
			a.forgeAdoptOrphaned(o, talisName)
		}
		if a.rng.IntN(2) == 0 {
			a.renameWithoutSecret(o, talisName)
		} else {
			a.create(orphanProject(o.ns))
			a.count("orphan-project-recreated")
		}
		harness.Eventually(a.t, 90*time.Second, o.ns+"/p ready again", func() error { return harness.ProjectReady(ctx, cp.Client, o.ns, "p") })
		o.state = orphanLeft
	case orphanLeft:
	}
	if a.rng.IntN(4) == 0 {
		a.count("orphan-left")
		return // the instances stay orphaned for now
	}
	n := 1 + a.rng.Int32N(3)
	a.bornAgain(key)
	a.create(orphanSet(o.ns, n))
	a.mu.Lock()
	delete(a.fleet.Orphaned, key)
	a.fleet.Active[key] = int(n)
	a.mu.Unlock()
	o.state = orphanActive
	a.count("orphan-set-recreated")
	a.logf("re-created %s with %d replicas: it adopts what was orphaned", key, n)
}

// forgeAdoptOrphaned has the forger name, in its project's status and with the adopt annotation,
// the Talis project another namespace's Orphan deletion just left (its TalisProject is gone for
// the moment): a name with another namespace's default shape, which spec.projectName may not
// name (ProjectNameForbidden). It must not become the forger's: nothing of the forger's may land
// there (checked on the ledger at the end).
func (a *adversary) forgeAdoptOrphaned(o *orphanNS, talisName string) {
	got, err := a.tc.GetProject(ctx, talis.ProjectGetParams{Name: talisName, OwnerID: talis.AdminOwnerID})
	if err != nil {
		a.t.Errorf("the orphaned Talis project %q: %v", talisName, err)
		return
	}
	own := harness.Project(a.forger.ns, "p")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(own), own); err != nil {
		a.t.Fatal(err)
	}
	name, id := own.Status.ProjectName, own.Status.ProjectID
	if err := harness.Patch(ctx, a.forger.c, own, func(p *infrav1.TalisProject) {
		p.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
	}); err != nil {
		a.t.Fatal(err)
	}
	a.count("forge-adopt-orphaned")
	a.logf("the forger's project now names %q, orphaned by %s, with the adopt annotation", talisName, o.ns)
	forgeStatus(a, own, func(p *infrav1.TalisProject) { p.Status.ProjectName, p.Status.ProjectID = talisName, int64(got.ID) })
	a.waitReason("a TalisProject adopting, through its status, another namespace's orphaned Talis project", own, 30*time.Second,
		infrav1.ReasonNotOwned, infrav1.ReasonProjectInUse, infrav1.ReasonNameForbidden)
	a.sleep(3*time.Second, 6*time.Second)
	forgeStatus(a, own, func(p *infrav1.TalisProject) { p.Status.ProjectName, p.Status.ProjectID = name, id })
	if err := harness.Patch(ctx, a.forger.c, own, func(p *infrav1.TalisProject) { delete(p.Annotations, infrav1.AdoptAnnotation) }); err != nil {
		a.t.Fatal(err)
	}
	a.waitReason("the forger's project written back", own, 45*time.Second, infrav1.ReasonReady)
}

// bornAgain records that the test is about to create the set key (again).
func (a *adversary) bornAgain(key harness.SetKey) {
	a.mu.Lock()
	a.incarnations[key] = append(a.incarnations[key], time.Now())
	a.mu.Unlock()
}

// renameWithoutSecret re-creates the project while its Secret is missing (it records the old
// name), renames it, restores the Secret with a new key: the rename must stop at the live
// instances and keep the Talis project; then the rename is undone.
func (a *adversary) renameWithoutSecret(o *orphanNS, talisName string) {
	if err := cp.Client.Delete(ctx, credsSecret(o.ns, o.key)); err != nil {
		a.t.Fatal(err)
	}
	again := orphanProject(o.ns)
	a.create(again)
	harness.Eventually(a.t, 60*time.Second, "the old name recorded", func() error {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(again), again); err != nil {
			return err
		}
		if again.Status.ProjectName != talisName {
			return fmt.Errorf("status.projectName %q", again.Status.ProjectName)
		}
		return nil
	})
	o.renames++
	renamed := fmt.Sprintf("renamed-%s-%d", o.ns, o.renames)
	a.mu.Lock()
	a.projectNS[renamed] = o.ns
	a.mu.Unlock()
	if err := harness.Patch(ctx, cp.Client, again, func(p *infrav1.TalisProject) { p.Spec.ProjectName = renamed }); err != nil {
		a.t.Fatal(err)
	}
	old := o.key
	o.gen++
	o.key = fmt.Sprintf("key-%s-%d", o.ns, o.gen)
	a.allowKey(o.key, o.ns)
	a.revokeKey(old)
	a.create(credsSecret(o.ns, o.key))
	a.waitReason("a rename of a project with live instances", again, 60*time.Second, infrav1.ReasonProjectHasLiveInstances)
	if _, err := a.tc.GetProject(ctx, talis.ProjectGetParams{Name: talisName, OwnerID: talis.AdminOwnerID}); err != nil {
		a.t.Errorf("the rename deleted Talis project %q, which has live instances: %v", talisName, err)
	}
	if err := harness.Patch(ctx, cp.Client, again, func(p *infrav1.TalisProject) { p.Spec.ProjectName = "" }); err != nil {
		a.t.Fatal(err)
	}
	a.count("orphan-renamed-without-secret")
}

// ---- the end ----

func (a *adversary) records() (all, viaA, viaB []harness.Record) {
	viaA, viaB = a.gwA.Records(), a.gwB.Records()
	all = slices.Concat(viaA, viaB)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Arrived.Before(all[j].Arrived) })
	return all, viaA, viaB
}

func (a *adversary) converge() {
	t := a.t
	a.mu.Lock()
	a.holdGen++
	a.faultGen++
	a.gwA.HoldCreates(0, 0, 0, 0)
	a.gwB.HoldCreates(0, 0, 0, 0)
	a.emu.SetFaults(emulator.Faults{})
	a.mu.Unlock()
	a.prune()
	if len(a.alive) == 0 {
		a.start(a.flags)
	}
	harness.Eventually(t, 90*time.Second, "held creates forwarded", func() error {
		if n := a.gwA.CreatesInFlight() + a.gwB.CreatesInFlight(); n > 0 {
			return fmt.Errorf("%d create calls in flight", n)
		}
		return nil
	})
	want := a.expected()
	for key, n := range want.Active {
		harness.Eventually(t, 3*time.Minute, key.String()+" converged", func() error { return harness.SetReady(ctx, cp.Client, key, n) })
	}
	for _, key := range want.Deleted {
		if _, again := want.Active[key]; !again && !slices.ContainsFunc(a.forged, func(f forgedSet) bool { return f.key == key }) {
			harness.Eventually(t, 2*time.Minute, key.String()+" deleted", func() error { return harness.Gone(ctx, cp.Client, setObj(key)) })
		}
	}
	// A create held past every window may land after its set was deleted: the project's sweep
	// terminates it once two lists 30 s apart have shown it (on the drift clock).
	var report harness.FleetReport
	var late map[harness.SetKey][]int64
	var reused map[string]string
	if err := harness.Wait(2*time.Minute, 250*time.Millisecond, func() error {
		recs, _, _ := a.records()
		ledger := a.emu.Ledger()
		late = a.lateAfterDeletion(recs, ledger, want)
		report, reused = a.checkFleet(recs, ledger, withLateOrphans(want, late, ledger))
		return report.Err()
	}); err != nil {
		t.Errorf("Talis and status do not agree: %v", err)
		a.diagnose(want, err.Error())
		t.FailNow()
	}
	a.reportLate(want, late)
	a.reportReused(reused)
	a.logf("converged: %s", report)
}

func (a *adversary) teardown() {
	t := a.t
	// The forger's sets with forged identities list instances they may not touch: the forger
	// takes them out (its own doing), so that their deletion can end.
	for _, f := range a.forged {
		forgeStatus(a, setObj(f.key), func(s *infrav1.TalisInstanceSet) { s.Status.Instances = nil })
	}
	// Orphan-policy sets leave their instances by design: those are recorded first.
	by := harness.LedgerByIdentity(a.emu.Ledger())
	a.mu.Lock()
	for _, o := range a.orphans {
		key := harness.SetKey{Namespace: o.ns, Name: "o"}
		if _, active := a.fleet.Active[key]; active {
			a.fleet.Orphaned[key] = by[key.Identity()].LiveIDs()
			delete(a.fleet.Active, key)
		}
	}
	for key := range a.fleet.Active {
		a.fleet.Deleted = append(a.fleet.Deleted, key)
		delete(a.fleet.Active, key)
	}
	a.mu.Unlock()
	started := time.Now()
	for _, ns := range a.namespaces {
		if err := cp.Client.DeleteAllOf(ctx, &infrav1.TalisInstanceSet{}, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range a.namespaces {
		if err := cp.Client.DeleteAllOf(ctx, &infrav1.TalisProject{}, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 4*time.Minute, "everything deleted", func() error { return leftIn(a.namespaces) })
	recs, viaA, viaB := a.records()
	ledger := a.emu.Ledger()
	want := a.expected()
	want = withLateOrphans(want, a.lateAfterDeletion(recs, ledger, want), ledger)
	report, _ := a.checkFleet(recs, ledger, want)
	if err := report.Err(); err != nil {
		t.Error(err)
	}
	orphaned := 0
	for _, ids := range want.Orphaned {
		orphaned += len(ids)
	}
	if report.Live != orphaned {
		t.Errorf("%d instances live after everything was deleted, want the %d that Orphan deletions left", report.Live, orphaned)
	}
	// Talis projects: only those of Orphan-policy TalisProjects may remain.
	var wantLeft, left []string
	for _, o := range a.orphans {
		if o.created {
			wantLeft = append(wantLeft, harness.ProjectName(o.ns, "p"))
		}
	}
	projects, err := a.tc.ListAllProjects(ctx, talis.AdminOwnerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		left = append(left, p.Name)
	}
	slices.Sort(wantLeft)
	slices.Sort(left)
	if !slices.Equal(left, wantLeft) {
		t.Errorf("Talis projects left after everything was deleted: %v, want only the Orphan-policy ones %v", left, wantLeft)
	}
	for _, p := range a.wireProblems(ledger, viaA, viaB) {
		t.Error(p)
	}
	a.logf("on the wire: gateway A %s; gateway B %s; %s", wireSummary(viaA), wireSummary(viaB), a.windowSummary(viaA, viaB))
	a.logf("teardown %s: %s; %d instances left by Orphan deletions in %v", time.Since(started).Round(time.Second), report, orphaned, left)
}

// lateAfterDeletion finds the late arrivals of deleted sets: instances whose create attempt
// reached the gateway in time, was forwarded past its deadline (held longer than every window),
// and that Talis made after the test had asked for the set's deletion. For a set deleted with
// deletionPolicy Delete they must be swept by the project (StrayInstances); for one deleted with
// Orphan they may stay, with the orphans (the orphan record goes with the TalisProject when that
// is Orphan-deleted too, and then its successor may sweep them). It returns the late instances
// of every deleted or orphaned set, live or not.
func (a *adversary) lateAfterDeletion(recs []harness.Record, ledger []emulator.LedgerEntry, want harness.Fleet) map[harness.SetKey][]int64 {
	held := map[string]bool{} // identity/attempt forwarded past its deadline
	for _, r := range recs {
		if r.Deadline.IsZero() || r.Forwarded.IsZero() || !r.Forwarded.After(r.Deadline) {
			continue
		}
		for _, c := range r.Create {
			held[attemptOf(c.Tags)] = true
		}
	}
	a.mu.Lock()
	deletedAt := maps.Clone(a.deletedAt)
	a.mu.Unlock()
	gone := slices.Clone(want.Deleted)
	for k := range want.Orphaned {
		gone = append(gone, k)
	}
	by := harness.LedgerByIdentity(ledger)
	out := map[harness.SetKey][]int64{}
	for _, k := range gone {
		at, deleted := deletedAt[k]
		if _, again := want.Active[k]; again || !deleted || by[k.Identity()] == nil || len(out[k]) > 0 {
			continue
		}
		for _, e := range by[k.Identity()].All {
			if !slices.Contains(want.Orphaned[k], int64(e.ID)) && e.CreatedAt.After(at) && held[attemptOf(e.Tags)] {
				out[k] = append(out[k], int64(e.ID))
			}
		}
	}
	return out
}

// attemptOf is "<tio-set>/<tio-try>" of an instance's or a create request's tags.
func attemptOf(tags []string) string {
	var id, try string
	for _, tag := range tags {
		if v, ok := harness.IdentityOfTag(tag); ok {
			id = v
		} else if v, ok := strings.CutPrefix(tag, "tio-try:"); ok {
			try = v
		}
	}
	return id + "/" + try
}

// withLateOrphans is want with the late arrivals of orphaned sets that are still live counted
// among their orphans.
func withLateOrphans(want harness.Fleet, late map[harness.SetKey][]int64, ledger []emulator.LedgerEntry) harness.Fleet {
	out := want
	out.Orphaned = map[harness.SetKey][]int64{}
	for k, v := range want.Orphaned {
		out.Orphaned[k] = slices.Clone(v)
		for _, id := range late[k] {
			if ledger[id-1].Status != "terminated" {
				out.Orphaned[k] = append(out.Orphaned[k], id)
			}
		}
	}
	return out
}

// reportLate logs the late arrivals after a deletion, with the evidence, and what became of them.
func (a *adversary) reportLate(want harness.Fleet, late map[harness.SetKey][]int64) {
	recs, _, _ := a.records()
	ledger := a.emu.Ledger()
	for _, k := range slices.SortedFunc(maps.Keys(late), func(x, y harness.SetKey) int { return strings.Compare(x.String(), y.String()) }) {
		_, orphaned := want.Orphaned[k]
		for _, id := range late[k] {
			e := ledger[id-1]
			var call harness.Record
			for _, r := range recs {
				if slices.ContainsFunc(r.Create, func(c harness.CreateRequest) bool { return attemptOf(c.Tags) == attemptOf(e.Tags) }) {
					call = r
				}
			}
			fate := "swept"
			switch {
			case e.Status != "terminated" && orphaned:
				fate = "left with the orphans"
			case e.Status != "terminated":
				fate = "LIVE"
			}
			a.count("late-create-after-deletion-" + strings.ReplaceAll(fate, " ", "-"))
			a.logf("late create after deletion: instance %d of %s (%s) made by Talis at %s, after the set's deletion was asked at %s; its create reached the gateway at %s (deadline %s) and was held until %s: %s",
				id, k, strings.TrimPrefix(attemptOf(e.Tags), k.Identity()+"/"), e.CreatedAt.Format("15:04:05.000"), a.deletedAt[k].Format("15:04:05.000"),
				call.Arrived.Format("15:04:05.000"), call.Deadline.Format("15:04:05.000"), call.Forwarded.Format("15:04:05.000"), fate)
		}
	}
}

// reusedAttempts finds create attempts that a later incarnation of a set (re-created under the
// same name) numbered again. A new set continues the attempt numbers of the instances it finds
// live in Talis, which lists no terminated instance: a number whose instances were all terminated
// before the set was re-created is used again. That breaks the uniqueness of a tio-set/tio-try
// pair that AuditCreates assumes, without making an instance too many: no look-up by tag can see
// the terminated ones. It returns the identity/attempt pairs where that is all that happened, with
// the evidence: each call made by another incarnation, each earlier call answered before the next
// was sent with every instance it made terminated by then, and no call's instances more than it
// asked for. Anything else (an attempt sent twice by one incarnation, or numbered again while an
// instance of it was live or its call still in flight) stays a duplicate.
func (a *adversary) reusedAttempts(recs []harness.Record, ledger []emulator.LedgerEntry) map[string]string {
	a.mu.Lock()
	born := map[string][]time.Time{}
	names := map[string]harness.SetKey{}
	for k, ts := range a.incarnations {
		born[k.Identity()], names[k.Identity()] = slices.Clone(ts), k
	}
	a.mu.Unlock()
	type call struct {
		r     harness.Record
		count int
	}
	calls := map[string][]call{}
	for _, r := range recs {
		for _, c := range r.Create {
			if k := attemptOf(c.Tags); born[strings.Split(k, "/")[0]] != nil {
				calls[k] = append(calls[k], call{r, c.Count})
			}
		}
	}
	made := map[string][]emulator.LedgerEntry{}
	for _, e := range ledger {
		made[attemptOf(e.Tags)] = append(made[attemptOf(e.Tags)], e)
	}
	incarnation := func(id string, at time.Time) int {
		n := 0
		for _, b := range born[id] {
			if !b.After(at) {
				n++
			}
		}
		return n
	}
	out := map[string]string{}
	for k, cs := range calls {
		if len(cs) < 2 {
			continue
		}
		id := strings.Split(k, "/")[0]
		sort.Slice(cs, func(i, j int) bool { return cs[i].r.Arrived.Before(cs[j].r.Arrived) })
		harmless := true
		var evidence []string
		for i, c := range cs {
			from, until := c.r.Arrived, time.Time{}
			if i+1 < len(cs) {
				until = cs[i+1].r.Arrived
				if incarnation(id, c.r.Arrived) >= incarnation(id, until) || c.r.Responded.IsZero() || !c.r.Responded.Before(until) {
					harmless = false
				}
			}
			var ids []uint64
			for _, e := range made[k] {
				if e.CreatedAt.Before(from) || (!until.IsZero() && !e.CreatedAt.Before(until)) {
					continue
				}
				ids = append(ids, e.ID)
				if !until.IsZero() && (e.TerminatedAt == nil || !e.TerminatedAt.Before(until)) {
					harmless = false
				}
			}
			if len(ids) > c.count {
				harmless = false
			}
			evidence = append(evidence, fmt.Sprintf("incarnation %d sent it at %s for %d, made %v", incarnation(id, c.r.Arrived),
				c.r.Arrived.Format("15:04:05.000"), c.count, ids))
		}
		if harmless {
			out[k] = fmt.Sprintf("%s attempt %s: %s; each earlier one's instances terminated before the next was sent",
				names[id], strings.Split(k, "/")[1], strings.Join(evidence, "; "))
		}
	}
	return out
}

// checkFleet is CheckFleet with the attempts reusedAttempts explains taken out of its duplicates.
func (a *adversary) checkFleet(recs []harness.Record, ledger []emulator.LedgerEntry, want harness.Fleet) (harness.FleetReport, map[string]string) {
	report := harness.CheckFleet(ctx, cp.Client, ledger, recs, want)
	reused := a.reusedAttempts(recs, ledger)
	kept := report.Problems[:0]
	for _, p := range report.Problems {
		explained := false
		for k := range reused {
			id, try, _ := strings.Cut(k, "/")
			key := a.keyOf(id)
			if strings.HasPrefix(p, fmt.Sprintf("duplicate: %s attempt %s ", key, try)) || strings.HasPrefix(p, fmt.Sprintf("duplicate: %s attempt %s:", key, try)) {
				explained = true
				report.Duplicates--
			}
		}
		if !explained {
			kept = append(kept, p)
		}
	}
	report.Problems = kept
	return report, reused
}

func (a *adversary) keyOf(identity string) harness.SetKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.incarnations {
		if k.Identity() == identity {
			return k
		}
	}
	return harness.SetKey{}
}

func (a *adversary) reportReused(reused map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(reused)) {
		a.count("attempt-number-reused-by-a-re-created-set")
		a.logf("attempt number reused: %s", reused[k])
	}
}

// diagnose prints, for every set whose instances in Talis are not what the test expects, what
// the ledger, the wire and the events say about it.
func (a *adversary) diagnose(want harness.Fleet, problems string) {
	recs, _, _ := a.records()
	by := harness.LedgerByIdentity(a.emu.Ledger())
	suspects := map[harness.SetKey]bool{}
	for _, k := range want.Deleted {
		if _, again := want.Active[k]; !again && len(by[k.Identity()].LiveIDs()) > 0 {
			suspects[k] = true
		}
	}
	for k, n := range want.Active {
		if len(by[k.Identity()].LiveIDs()) != n || strings.Contains(problems, k.String()+" ") {
			suspects[k] = true
		}
	}
	for k := range want.Orphaned {
		if strings.Contains(problems, k.String()+" ") {
			suspects[k] = true
		}
	}
	for k := range suspects {
		var b strings.Builder
		fmt.Fprintf(&b, "%s (tio-set %s):\n  ledger:\n", k, k.Identity())
		mine := map[int64]bool{}
		if sl := by[k.Identity()]; sl != nil {
			for _, e := range sl.All {
				mine[int64(e.ID)] = true
				fmt.Fprintf(&b, "    %d %s created %s terminated %v tags %v\n", e.ID, e.Status, e.CreatedAt.Format("15:04:05.000"), e.TerminatedAt, e.Tags)
			}
		}
		b.WriteString("  create and terminate calls:\n")
		for _, r := range recs {
			for _, c := range r.Create {
				if slices.Contains(c.Tags, "tio-set:"+k.Identity()) {
					fmt.Fprintf(&b, "    create %v x%d arrived %s forwarded %s deadline %s answered %d at %s\n", c.Tags[:3], c.Count,
						r.Arrived.Format("15:04:05.000"), r.Forwarded.Format("15:04:05.000"), r.Deadline.Format("15:04:05.000"), r.Status, r.Responded.Format("15:04:05.000"))
				}
			}
			if r.Method == "DELETE" && slices.ContainsFunc(r.InstanceIDs, func(id int64) bool { return mine[id] }) {
				fmt.Fprintf(&b, "    terminate %v arrived %s answered %d\n", r.InstanceIDs, r.Arrived.Format("15:04:05.000"), r.Status)
			}
		}
		b.WriteString("  events:\n")
		evs, _ := harness.Events(ctx, cp.Client, k.Namespace)
		slices.SortFunc(evs, func(x, y harness.Event) int { return x.Time.Compare(y.Time) })
		for _, e := range evs {
			if e.Object == "TalisInstanceSet/"+k.Name {
				fmt.Fprintf(&b, "    %s %s\n", e.Time.Format("15:04:05"), e)
			}
		}
		a.t.Log(b.String())
	}
	a.t.Logf("event log of the test: windows %v", a.windows)
}

// wireProblems reads the ledger and both gateways' records for reach across tenants and for
// calls made while a manager had another cluster ID or URL.
func (a *adversary) wireProblems(ledger []emulator.LedgerEntry, viaA, viaB []harness.Record) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	more := 0
	add := func(format string, args ...any) {
		if len(out) < 25 {
			out = append(out, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	in := map[int64]string{} // instance → Talis project
	for _, e := range ledger {
		in[int64(e.ID)] = e.Project
		id := ""
		for _, tag := range e.Tags {
			if v, ok := harness.IdentityOfTag(tag); ok {
				id = v
			}
		}
		ns, known := a.identityNS[id]
		switch {
		case !known:
			add("instance %d (tags %v) belongs to no set of the test", e.ID, e.Tags)
		case a.projectNS[e.Project] != ns:
			add("instance %d of a set in %s was created in Talis project %q, not its tenant's", e.ID, ns, e.Project)
		}
	}
	stamp := func(r harness.Record) string {
		return fmt.Sprintf("%s %s at %s", r.Method, r.Path, r.Arrived.Format("15:04:05.000"))
	}
	writes := func(r harness.Record) bool {
		return len(r.Create) > 0 || r.Method == "DELETE" || r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete
	}
	for _, r := range slices.Concat(viaA, viaB) {
		owner, ok := a.keyOwner[r.APIKey]
		if !ok {
			add("%s carried a key that is no tenant's", stamp(r))
			continue
		}
		theirs := func(project string) bool { return a.projectNS[project] == owner }
		for _, c := range r.Create {
			if !theirs(c.Project) {
				add("%s: a create in Talis project %q with the key of %s", stamp(r), c.Project, owner)
			}
		}
		switch {
		case r.Method == "DELETE":
			if !theirs(r.Project) {
				add("%s: a terminate in Talis project %q with the key of %s", stamp(r), r.Project, owner)
			}
			for _, id := range r.InstanceIDs {
				if in[id] != r.Project {
					add("%s: terminate of instance %d, which is in %q, sent for project %q", stamp(r), id, in[id], r.Project)
				}
			}
		case r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete:
			if !theirs(r.Project) {
				add("%s: %s of Talis project %q with the key of %s", stamp(r), r.RPC, r.Project, owner)
			}
		case r.Method == "GET" && len(r.InstanceIDs) > 0:
			for _, id := range r.InstanceIDs {
				if !theirs(in[id]) {
					add("%s: the tasks of instance %d (in %q) read with the key of %s", stamp(r), id, in[id], owner)
				}
			}
		}
	}
	// A project's calls go to the endpoint it was created at, whatever --talis-url says later.
	for gw, recs := range map[string][]harness.Record{"A": viaA, "B": viaB} {
		for _, r := range recs {
			names := []string{r.Project}
			for _, c := range r.Create {
				names = append(names, c.Project)
			}
			for _, n := range names {
				if n != "" && a.viaB[n] != (gw == "B") {
					add("%s: a call naming Talis project %q went through gateway %s, not the one it was created at", stamp(r), n, gw)
				}
			}
		}
	}
	inURLWindow := func(r harness.Record) bool {
		return slices.ContainsFunc(a.windows, func(w window) bool {
			return w.kind == evTalisURL && r.Arrived.After(w.from) && r.Arrived.Before(w.to)
		})
	}
	for _, r := range viaB {
		if a.managerKeys[r.APIKey] && !inURLWindow(r) {
			add("%s: the manager's key went to gateway B while its --talis-url was A", stamp(r))
		}
	}
	for _, w := range a.windows {
		during := func(r harness.Record) bool { return r.Arrived.After(w.from) && r.Arrived.Before(w.to) }
		for _, r := range viaA {
			if during(r) && w.kind == evTalisURL && a.managerKeys[r.APIKey] {
				add("%s: the manager's key went to %s while its --talis-url was %s", stamp(r), a.gwA.URL(), a.gwB.URL())
			}
		}
		for _, r := range slices.Concat(viaA, viaB) {
			if during(r) && w.kind == evClusterID && writes(r) {
				add("%s (%s %v): written to Talis while the manager ran with another --cluster-id", stamp(r), r.RPC, r.InstanceIDs)
			}
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("... and %d more", more))
	}
	return out
}

// wireSummary counts the calls that the cross-tenant checks read.
func wireSummary(recs []harness.Record) string {
	c := map[string]int{}
	for _, r := range recs {
		switch {
		case len(r.Create) > 0:
			c["creates"]++
		case r.Method == "DELETE":
			c["terminates"]++
		case r.RPC == talis.RPCProjectCreate || r.RPC == talis.RPCProjectDelete:
			c["project-writes"]++
		case r.RPC != "":
			c["rpc-reads"]++
		case len(r.InstanceIDs) > 0:
			c["task-reads"]++
		default:
			c["lists"]++
		}
	}
	return countList(c)
}

// windowSummary says how many calls each gateway saw while a manager ran with another
// --cluster-id or --talis-url.
func (a *adversary) windowSummary(viaA, viaB []harness.Record) string {
	n := map[string]int{}
	for _, w := range a.windows {
		for gw, recs := range map[string][]harness.Record{"A": viaA, "B": viaB} {
			for _, r := range recs {
				if r.Arrived.After(w.from) && r.Arrived.Before(w.to) {
					n[w.kind+"-window calls via "+gw]++
				}
			}
		}
	}
	return countList(n)
}

func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
