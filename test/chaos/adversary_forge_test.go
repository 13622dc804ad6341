package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

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
