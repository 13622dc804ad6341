package reliability

import (
	"fmt"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// A tenant whose Role covers every resource of infra.talis.io (status included, as any Role with
// resources ["*"] does) writes status to reach another namespace's Talis project and instances.
// Status steers nothing it has not verified against Talis: read on Talis's side, nothing of the
// tenant's lands in the victim's project, no victim instance is terminated, and the victim's
// project is deleted with its object.
func TestStatusWrittenByATenantSteersNothing(t *testing.T) {
	emu, url := fastTalis(t)
	victimNs, tenantNs := namespace(t, "victim"), namespace(t, "forger")
	startManager(t, managerArgs(url))
	broad := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "infra-everything"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{infrav1.GroupVersion.Group}, Resources: []string{"*"}, Verbs: []string{"*"}}}}
	forger := newTenant(t, tenantNs, "forger-"+tenantNs, broad)

	victim, victimSet := harness.Project(victimNs, "p"), harness.Set(victimNs, "web", "p", 2)
	for _, o := range []client.Object{victim, victimSet} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	victimKey := harness.SetKey{Namespace: victimNs, Name: "web"}
	harness.Eventually(t, 60*time.Second, "the victim's 2 ready", func() error { return harness.SetReady(ctx, cp.Client, victimKey, 2) })
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(victim), victim); err != nil {
		t.Fatal(err)
	}
	victimLive := harness.LedgerByIdentity(emu.Ledger())[victimKey.Identity()].LiveIDs()

	// The tenant's project, its status rewritten to name the victim's Talis project, then a set.
	own := harness.Project(tenantNs, "p")
	if err := forger.c.Create(ctx, own); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "the tenant's project ready", func() error { return harness.ProjectReady(ctx, cp.Client, tenantNs, "p") })
	forge(t, forger.c, own, func(st *infrav1.TalisProjectStatus) {
		st.ProjectName, st.ProjectID = victim.Status.ProjectName, victim.Status.ProjectID
	})
	// A set, paused while its status is written before the operator records any: the victim
	// set's identity and an instance of it. Unpaused, with 0 replicas, it would adopt and
	// terminate what it is shown.
	set := harness.Set(tenantNs, "web", "p", 0)
	set.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
	if err := forger.c.Create(ctx, set); err != nil {
		t.Fatal(err)
	}
	forgeSet(t, forger.c, set, func(st *infrav1.TalisInstanceSetStatus) {
		st.Identity = victimKey.Identity()
		future := metav1.NewTime(time.Now().Add(time.Hour))
		st.Instances = append(st.Instances, infrav1.TalisInstance{ID: victimLive[0], State: "ready", CreatedAt: &future, ReadyAt: &future})
	})
	if err := harness.Patch(ctx, forger.c, set, func(s *infrav1.TalisInstanceSet) { delete(s.Annotations, infrav1.PausedAnnotation) }); err != nil {
		t.Fatal(err)
	}
	// Checked after Talis's side: the conditions are what the tenant reads.
	stalled := harness.Wait(30*time.Second, 250*time.Millisecond, func() error {
		if err := stalledWith(own, infrav1.ReasonNotOwned); err != nil {
			return err
		}
		return stalledWith(set, infrav1.ReasonNotOwned)
	})
	// Long enough for several polls and a drift tick of the test manager.
	time.Sleep(5 * time.Second)
	inVictims := func() (tenant []uint64, victimsLive []int64) {
		for _, e := range emu.Ledger() {
			if e.Project == victim.Status.ProjectName && !slices.Contains(e.Tags, "tio-set:"+victimKey.Identity()) {
				tenant = append(tenant, e.ID)
			}
		}
		return tenant, harness.LedgerByIdentity(emu.Ledger())[victimKey.Identity()].LiveIDs()
	}
	if tenant, live := inVictims(); len(tenant) > 0 || !slices.Equal(live, victimLive) {
		t.Errorf("the tenant reached the victim's Talis project: instances of others there %v; victim's live %v, want %v", tenant, live, victimLive)
	}
	if got := ledgerOf(emu, tenantNs, "web"); len(got) > 0 {
		t.Errorf("the tenant's set created %d instance(s) through a forged project", len(got))
	}
	if stalled != nil {
		t.Errorf("the tenant's objects do not say why they stopped: %v", stalled)
	}

	// The victim deletes its objects: its Talis project goes too, no one else's claim keeps it.
	for _, o := range []client.Object{victimSet, victim} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 60*time.Second, "victim deleted", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
	tc, err := talis.NewClient(&talis.Options{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.GetProject(ctx, talis.ProjectGetParams{Name: victim.Status.ProjectName, OwnerID: talis.AdminOwnerID}); !talis.IsNotFound(err) {
		t.Errorf("the victim's Talis project is still there after its object was deleted: %v", err)
	}
}

// A status.identity written by someone else before the operator recorded one (the CRD keeps it
// once recorded) is refused: nothing is created with it, the condition says why, and the set can
// still be deleted.
func TestForgedIdentityStopsTheSet(t *testing.T) {
	emu, url := fastTalis(t)
	ns := namespace(t, "forged-identity")
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	p, set := harness.Project(ns, "p"), harness.Set(ns, "web", "p", 1)
	set.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
	for _, o := range []client.Object{p, set} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, 30*time.Second, "project ready", func() error { return harness.ProjectReady(ctx, cp.Client, ns, "p") })
	forged := harness.SetIdentity("elsewhere", "web")
	forgeSet(t, cp.Client, set, func(st *infrav1.TalisInstanceSetStatus) { st.Identity = forged })
	if err := harness.Patch(ctx, cp.Client, set, func(s *infrav1.TalisInstanceSet) { delete(s.Annotations, infrav1.PausedAnnotation) }); err != nil {
		t.Fatal(err)
	}
	stalled := harness.Wait(10*time.Second, 250*time.Millisecond, func() error { return stalledWith(set, infrav1.ReasonIdentityNotDerived) })
	time.Sleep(2 * time.Second) // a few polls of the test manager
	if made := len(emu.Ledger()); made != 0 {
		t.Errorf("%d instance(s) created while status.identity is forged", made)
	}
	if stalled != nil {
		t.Errorf("the set does not say why it stopped: %v", stalled)
	}
	if err := cp.Client.Delete(ctx, set); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, set) })
}

func ledgerOf(emu *emulator.Server, ns, name string) []int64 {
	if sl := harness.LedgerByIdentity(emu.Ledger())[harness.SetIdentity(ns, name)]; sl != nil {
		return sl.LiveIDs()
	}
	return nil
}

// forge rewrites a project's status as c, retrying on conflicts with the operator's writes.
func forge(t *testing.T, c client.Client, p *infrav1.TalisProject, mutate func(*infrav1.TalisProjectStatus)) {
	t.Helper()
	harness.Eventually(t, 10*time.Second, "status forged", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return err
		}
		mutate(&p.Status)
		return c.Status().Update(ctx, p)
	})
}

func forgeSet(t *testing.T, c client.Client, s *infrav1.TalisInstanceSet, mutate func(*infrav1.TalisInstanceSetStatus)) {
	t.Helper()
	harness.Eventually(t, 10*time.Second, "status forged", func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		mutate(&s.Status)
		return c.Status().Update(ctx, s)
	})
}

// stalledWith reads o (a project or a set) and wants Stalled=True with reason.
func stalledWith(o client.Object, reason string) error {
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		return err
	}
	var conds []metav1.Condition
	switch v := o.(type) {
	case *infrav1.TalisProject:
		conds = v.Status.Conditions
	case *infrav1.TalisInstanceSet:
		conds = v.Status.Conditions
	}
	if c := meta.FindStatusCondition(conds, infrav1.ConditionStalled); c == nil || c.Status != metav1.ConditionTrue || c.Reason != reason {
		return fmt.Errorf("Stalled %+v, want %s", c, reason)
	}
	return nil
}

// An Orphan deletion leaves a Talis project under its namespace's default name, which no other
// namespace may name in spec.projectName (ProjectNameForbidden). A tenant who may write status
// names it there instead, with the adopt annotation, while the TalisProject that made it is gone:
// it must not become theirs. Read on Talis's side, past the sweep's grace: nothing of the
// tenant's lands in it, and the instance the Orphan deletion left is not swept as a stray (the
// tenant's project, which it created, sweeps from instance 0).
func TestStatusCannotAdoptAnotherNamespacesOrphanedProject(t *testing.T) {
	emu, url := fastTalis(t)
	victimNs, tenantNs := namespace(t, "orphaner"), namespace(t, "adopter")
	startManager(t, managerArgs(url, "--watch-namespaces", victimNs+","+tenantNs, "--drift-interval", "2s"))
	broad := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "infra-everything-adopter"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{infrav1.GroupVersion.Group}, Resources: []string{"*"}, Verbs: []string{"*"}}}}
	forger := newTenant(t, tenantNs, "adopter-"+tenantNs, broad)

	victim, victimSet := harness.Project(victimNs, "p"), harness.Set(victimNs, "web", "p", 1)
	victim.Spec.DeletionPolicy, victimSet.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan, infrav1.DeletionPolicyOrphan
	for _, o := range []client.Object{victim, victimSet} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	victimKey := harness.SetKey{Namespace: victimNs, Name: "web"}
	harness.Eventually(t, 60*time.Second, "the victim's instance ready", func() error { return harness.SetReady(ctx, cp.Client, victimKey, 1) })
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(victim), victim); err != nil {
		t.Fatal(err)
	}
	orphaned := victim.Status
	left := harness.LedgerByIdentity(emu.Ledger())[victimKey.Identity()].LiveIDs()
	for _, o := range []client.Object{victimSet, victim} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 30*time.Second, "orphaned", func() error { return harness.Gone(ctx, cp.Client, o) })
	}

	own := harness.Project(tenantNs, "p")
	own.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
	if err := forger.c.Create(ctx, own); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 30*time.Second, "the tenant's project ready", func() error { return harness.ProjectReady(ctx, cp.Client, tenantNs, "p") })
	forge(t, forger.c, own, func(st *infrav1.TalisProjectStatus) {
		st.ProjectName, st.ProjectID = orphaned.ProjectName, orphaned.ProjectID
	})
	forged := time.Now()
	set := harness.Set(tenantNs, "web", "p", 2)
	if err := forger.c.Create(ctx, set); err != nil {
		t.Fatal(err)
	}
	refused := harness.Wait(30*time.Second, 250*time.Millisecond, func() error {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(own), own); err != nil {
			return err
		}
		if r := own.Status.Reason; r != infrav1.ReasonNotOwned && r != infrav1.ReasonNameForbidden && r != infrav1.ReasonProjectInUse {
			return fmt.Errorf("status.reason %q", r)
		}
		return nil
	})
	// Past the sweep's grace (two lists 30 s apart, listed every 2 s) and several polls.
	time.Sleep(time.Until(forged.Add(36 * time.Second)))
	if live := harness.LedgerByIdentity(emu.Ledger())[victimKey.Identity()].LiveIDs(); !slices.Equal(live, left) {
		t.Errorf("the instances the Orphan deletion left are %v, want %v still live", live, left)
	}
	var landed []uint64
	for _, e := range emu.Ledger() {
		if e.Project == orphaned.ProjectName && !slices.Contains(e.Tags, "tio-set:"+victimKey.Identity()) {
			landed = append(landed, e.ID)
		}
	}
	if len(landed) > 0 {
		t.Errorf("the tenant's instances %v landed in %q, the Talis project another namespace's Orphan deletion left", landed, orphaned.ProjectName)
	}
	if refused != nil {
		t.Errorf("the tenant's project took another namespace's orphaned Talis project: %v", refused)
	}
}
