package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// The condition model on real objects: what needs a person reaches the set, a set applied
// before its project only waits, and a wrong key does not unsay a running fleet.
var _ = Describe("The condition model", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })
	AfterEach(func() { emu.SetAPIKeys() })

	It("stalls a set whose project needs a person, with the project's reason and message", func() {
		mgr := startManager(managerOptions{})
		defer mgr.Stop()
		reserved := reservedTalisName(ns, "-taken")

		stuck := newProject(ns, "stuck")
		stuck.Spec.ProjectName = reserved
		set := newSet(ns, "web", "stuck", 1)
		create(stuck, set)
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonNameReserved)
		got := getSet(set)
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(got, infrav1.ConditionStalled).Message).To(HavePrefix(`TalisProject "stuck": `))
		Expect(condition(got, infrav1.ConditionReconciling).Status).To(Equal(metav1.ConditionFalse))
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.FailedStatus))
		Expect(argoHealth(unstructuredSet(set))).To(Equal("Degraded"))
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 10*time.Second).Should(ContainSubstring(infrav1.ReasonNameReserved))
	})

	It("waits quietly for a project applied after its set, and warns once the grace is over", func() {
		timing := testTiming()
		timing.MissingProjectGrace = 3 * time.Second
		mgr := startManager(managerOptions{timing: &timing})
		defer mgr.Stop()

		early := newSet(ns, "early", "late", 1)
		create(early)
		eventuallyCondition(early, infrav1.ConditionSynced, infrav1.ReasonWaitingForProject)
		Expect(kstatusOf(unstructuredSet(early))).To(Equal(status.InProgressStatus))
		create(newProject(ns, "late"))
		eventuallyReady(early, 1)

		orphan := newSet(ns, "orphan", "never", 1)
		create(orphan)
		eventuallyCondition(orphan, infrav1.ConditionStalled, infrav1.ReasonProjectNotFound)
		Expect(warnings(ns, "early")).NotTo(ContainElement(HavePrefix(infrav1.ReasonProjectNotFound)))
		Expect(warnings(ns, "early")).NotTo(ContainElement(HavePrefix(infrav1.ReasonWaitingForProject)))
		Eventually(func() []string { return normals(ns, "early") }, 5*time.Second, 100*time.Millisecond).
			Should(ContainElement(HavePrefix(infrav1.ReasonWaitingForProject)))
		Eventually(func() []string { return warnings(ns, "orphan") }, 10*time.Second).Should(ContainElement(HavePrefix(infrav1.ReasonProjectNotFound)))
	})

	It("keeps a running fleet Ready when the API key stops working, and says it cannot be managed", func() {
		emu.SetAPIKeys("right-key")
		timing := testTiming()
		timing.Resync = 2 * time.Second // steady polls are what meet the rotated key
		mgr := startManager(managerOptions{timing: &timing})
		defer mgr.Stop()
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "right-key"}}
		p := newProject(ns, "p")
		p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "talis", Key: "apiKey"}}
		set := newSet(ns, "web", "p", 2)
		create(secret, p, set)
		eventuallyReady(set, 2)

		emu.SetAPIKeys("rotated-key")
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonInvalidCredentials)
		got := getSet(set)
		Expect(condition(got, infrav1.ConditionReady).Status).To(Equal(metav1.ConditionTrue), "the fleet itself is as asked")
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(got.Status.ReadyReplicas).To(BeEquivalentTo(2))
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.FailedStatus))
		Expect(joined(eventsFor(ns, "web"))).NotTo(ContainSubstring("right-key"))
	})
})

func eventsOfType(ns, name, typ string) []string {
	var list corev1.EventList
	Expect(k8s.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Type == typ {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

func warnings(ns, name string) []string { return eventsOfType(ns, name, corev1.EventTypeWarning) }
func normals(ns, name string) []string  { return eventsOfType(ns, name, corev1.EventTypeNormal) }
