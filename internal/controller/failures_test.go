package controller

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

var _ = Describe("TalisInstanceSet when things go wrong", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpec(&ns, &mgr)
	AfterEach(func() { emu.SetAPIKeys() })

	It("reports Talis being down and converges once it is back", func() {
		mgr = startManager(managerOptions{})
		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{"*": {GatewayErrorRate: 1, GatewayStatus: 503}}})
		set := newSet(ns, "web", "p", 2)
		create(set)
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonTalisUnavailable)
		got := getSet(set)
		// Passing trouble: the operator retries by itself, nobody needs to act.
		Expect(condition(got, infrav1.ConditionSynced).Status).To(BeEquivalentTo("False"))
		Expect(condition(got, infrav1.ConditionReconciling).Status).To(BeEquivalentTo("True"))
		Expect(condition(got, infrav1.ConditionDegraded).Status).To(BeEquivalentTo("False"))
		Expect(condition(got, infrav1.ConditionStalled).Status).To(BeEquivalentTo("False"))
		Expect(liveCount(ns, "web")()).To(BeZero())

		emu.SetFaults(noFaults())
		eventuallyReady(set, 2)
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(2))
	})

	It("tells the user when the API key is wrong, and recovers when it is fixed", func() {
		emu.SetAPIKeys("right-key")
		mgr = startManager(managerOptions{})
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "wrong-key"}}
		p := newProject(ns, "p")
		p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "talis", Key: "apiKey"}}
		create(secret, p)
		Eventually(func(g Gomega) {
			got := &infrav1.TalisProject{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			c := shared.FindCondition(got.Status.Conditions, infrav1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(infrav1.ReasonInvalidCredentials))
			g.Expect(c.Message).NotTo(ContainSubstring("wrong-key"), "the key never appears in status")
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		// Events are sent asynchronously, after the status that caused them.
		Eventually(func() string { return joined(eventsFor(ns, "p")) }, 10*time.Second, 100*time.Millisecond).Should(ContainSubstring(infrav1.ReasonInvalidCredentials))
		Expect(joined(eventsFor(ns, "p"))).NotTo(ContainSubstring("wrong-key"))

		secret.StringData = map[string]string{"apiKey": "right-key"}
		Expect(k8s.Update(suiteCtx, secret)).To(Succeed())
		Eventually(projectID(ns, "p"), 30*time.Second).ShouldNot(BeZero())
	})

	It("terminates everything when the project, its sets and the credentials Secret are deleted at once", func() {
		emu.SetAPIKeys("ns-key")
		mgr = startManager(managerOptions{})
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "ns-key"}}
		p := newProject(ns, "p")
		p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "talis"}}
		a, b := newSet(ns, "a", "p", 2), newSet(ns, "b", "p", 1)
		create(secret, p, a, b)
		eventuallyReady(a, 2)
		eventuallyReady(b, 1)

		// What the namespace controller does (envtest runs none): delete every object at once.
		for _, o := range []client.Object{secret, p, a, b} {
			Expect(k8s.Delete(suiteCtx, o)).To(Succeed())
		}
		eventuallyGone(a)
		eventuallyGone(b)
		eventuallyGone(p)
		Expect(liveCount(ns, "a")()).To(BeZero())
		Expect(liveCount(ns, "b")()).To(BeZero())
	})

	It("never acts on a stale cache: reconciles that cannot see their own writes create nothing", func() {
		// The manager's cache is stuck on the set's first version until the test releases it.
		create(newProject(ns, "p"))
		mgr = startManager(managerOptions{})
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		mgr.Stop()
		mgr = nil

		set := newSet(ns, "web", "p", 3)
		set.Finalizers = []string{infrav1.Finalizer}
		create(set)
		stale := &staleClient{frozen: getSet(set)}
		stale.stuck.Store(true)
		mgr = startManager(managerOptions{wrapClient: func(c client.Client) client.Client { stale.Client = c; return stale }})
		Eventually(func() int { all, _ := ledger(ns, "web"); return len(all) }, 10*time.Second).Should(Equal(3))
		Consistently(func() int { all, _ := ledger(ns, "web"); return len(all) }, 2*time.Second).Should(Equal(3))

		stale.stuck.Store(false)
		eventuallyReady(set, 3)
		Expect(getSet(set).Status.Instances).To(HaveLen(3))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(3))
	})
})

// staleClient answers every read of one TalisInstanceSet with the version it was given while
// stuck, like an informer cache that does not catch up; writes go to the apiserver.
type staleClient struct {
	client.Client
	frozen *infrav1.TalisInstanceSet
	stuck  atomic.Bool
}

func (c *staleClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if s, ok := obj.(*infrav1.TalisInstanceSet); ok && c.stuck.Load() && key == client.ObjectKeyFromObject(c.frozen) {
		c.frozen.DeepCopyInto(s)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}
