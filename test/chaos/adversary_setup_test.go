package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
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
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

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
