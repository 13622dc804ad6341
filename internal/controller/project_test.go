package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

var _ = Describe("TalisProject", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpecWithManager(&ns, &mgr)

	It("creates the project in Talis, waits for its sets on deletion, then deletes it", func() {
		p := newProject(ns, "p")
		create(p)
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		got := &infrav1.TalisProject{}
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Status.ProjectName).To(Equal(ns + ".p"))
		Expect(shared.FindCondition(got.Status.Conditions, infrav1.ConditionReady).Status).To(BeEquivalentTo("True"))

		set := newSet(ns, "web", "p", 1)
		create(set)
		eventuallyReady(set, 1)
		Expect(k8s.Delete(suiteCtx, p)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			g.Expect(shared.FindCondition(got.Status.Conditions, infrav1.ConditionReady).Reason).To(Equal(infrav1.ReasonWaitingForInstanceSets))
		}, 20*time.Second).Should(Succeed())

		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		eventuallyGone(p)
		c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
		Expect(err).NotTo(HaveOccurred())
		_, err = c.GetProject(suiteCtx, talis.ProjectGetParams{Name: ns + ".p", OwnerID: talis.AdminOwnerID})
		Expect(talis.IsNotFound(err)).To(BeTrue(), "the Talis project is deleted: %v", err)
	})

	It("keeps a Talis project that still has live instances no set owns, and says which, rather than strand them", func() {
		// Talis's project delete leaves the project's instances running, and a terminate names
		// the project: deleting it now would leave them where nothing can reach them.
		p := newProject(ns, "p")
		create(p)
		set := newSet(ns, "web", "p", 2)
		set.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		create(set)
		orphaned := instanceIDsOf(eventuallyReady(set, 2))
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)

		Expect(k8s.Delete(suiteCtx, p)).To(Succeed())
		got := &infrav1.TalisProject{}
		var msg string
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			c := shared.FindCondition(got.Status.Conditions, infrav1.ConditionStalled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(infrav1.ReasonProjectHasLiveInstances), c.Message)
			msg = c.Message
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed(), "the project is deleted with instances %v live", orphaned)
		for _, id := range orphaned {
			Expect(msg).To(ContainSubstring(itoa(id)))
		}
		// The recorder posts events after the status write: the condition can be read first.
		Eventually(func() []string { return eventsOfType(ns, "p", "Warning") }, 5*time.Second, 100*time.Millisecond).
			Should(ContainElement(HavePrefix(infrav1.ReasonProjectHasLiveInstances + ": ")))
		c := talisClient()
		_, err := c.GetProject(suiteCtx, talis.ProjectGetParams{Name: got.Status.ProjectName, OwnerID: talis.AdminOwnerID})
		Expect(err).NotTo(HaveOccurred(), "the Talis project is kept")

		for _, id := range orphaned {
			terminateDirectly(got.Status.ProjectName, id)
		}
		eventuallyGone(p)
		_, err = c.GetProject(suiteCtx, talis.ProjectGetParams{Name: got.Status.ProjectName, OwnerID: talis.AdminOwnerID})
		Expect(talis.IsNotFound(err)).To(BeTrue(), "the Talis project is deleted once its instances are gone: %v", err)
	})

	It("explains that a deleted project's name stays reserved in Talis", func() {
		name := ns + "-sticky"
		first := newProject(ns, "first")
		first.Spec.ProjectName = name
		create(first)
		Eventually(projectID(ns, "first"), 20*time.Second).ShouldNot(BeZero())
		Expect(k8s.Delete(suiteCtx, first)).To(Succeed())
		eventuallyGone(first)

		second := newProject(ns, "second")
		second.Spec.ProjectName = name
		create(second)
		Eventually(func(g Gomega) {
			got := &infrav1.TalisProject{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(second), got)).To(Succeed())
			c := shared.FindCondition(got.Status.Conditions, infrav1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(infrav1.ReasonNameReserved))
			g.Expect(c.Message).To(ContainSubstring("reserved"))
			g.Expect(shared.FindCondition(got.Status.Conditions, infrav1.ConditionStalled).Status).To(BeEquivalentTo("True"))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
