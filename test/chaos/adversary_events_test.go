package chaos

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

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
