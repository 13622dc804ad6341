package chaos

import (
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/test/harness"
)

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
