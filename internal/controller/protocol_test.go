package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// The create/terminate protocol at its edges: each case below once broke the promise that no
// instance is created twice or leaked. Every assertion reads the emulator's ledger.
var _ = Describe("TalisInstanceSet create and terminate protocol", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		DeferCleanup(func() { emu.SetFaults(noFaults()); emu.SetDelays(suiteDelays) })
	})
	run := func(o managerOptions) { DeferCleanup(startManager(o).Stop) }

	It("creates no duplicate when a terminate in the same reconcile is slow", func() {
		// A roll with maxUnavailable 1 terminates and creates in one reconcile. A terminate
		// that takes longer than the ambiguity window (here: one slow attempt; in production,
		// retries) used to delay the create past it: a list taken before the create landed
		// "proved" it made nothing, and the set created again.
		run(managerOptions{clients: func(o *talis.Options) { o.Timeout = 10 * time.Second }})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		set.Spec.Strategy = infrav1.InstanceSetStrategy{Type: infrav1.RollingUpdateStrategy,
			RollingUpdate: &infrav1.RollingUpdate{MaxSurge: 1, MaxUnavailable: 1}}
		create(set)
		eventuallyReady(set, 2)

		emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{
			"DELETE /api/v1/instances": {Latency: 5 * time.Second},
			"POST /api/v1/instances":   {Latency: 1200 * time.Millisecond},
		}})
		got := getSet(set)
		oldHash := got.Status.TemplateHash
		got.Spec.Template.Tags = []string{"team:test", "rev:2"}
		Expect(k8s.Update(suiteCtx, got)).To(Succeed())

		Eventually(func(g Gomega) {
			s := getSet(set)
			g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(s.Status.TemplateHash).NotTo(Equal(oldHash))
			g.Expect(s.Status.UpdatedReplicas).To(BeEquivalentTo(2))
			g.Expect(s.Status.ReadyReplicas).To(BeEquivalentTo(2))
			g.Expect(s.Status.Instances).To(HaveLen(2))
		}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
		Consistently(func() int { all, _ := ledger(ns, "web"); return len(all) }, 3*time.Second).Should(Equal(4),
			"2 instances, then 2 replacements: nothing created twice")
		Expect(liveCount(ns, "web")()).To(Equal(2))
	})

	It("keeps watching an instance whose terminate a still-running create undid, and deletion waits for it", func() {
		// Talis lets a create that is still running write its state over a terminate. A set
		// deleted while its instance is stuck used to drop the instance at the first list that
		// showed it terminated, and go; the create then brought the instance back, leaked.
		slow := suiteDelays
		slow.Create = 5 * time.Second
		emu.SetDelays(slow)
		timing := testTiming()
		timing.TerminateSettle = 20 * time.Second
		run(managerOptions{timing: &timing})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 1)
		set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: time.Second}
		create(set)
		Eventually(func() int { all, _ := ledger(ns, "web"); return len(all) }, 20*time.Second).Should(Equal(1))
		createdAt := time.Now()
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())

		// The terminate is sent once the instance is past its provisioning timeout, while its
		// create is still running: the create finishes after it and writes "ready" over it.
		eventuallyGone(set)
		time.Sleep(time.Until(createdAt.Add(slow.Create + 2*time.Second)))
		all, live := ledger(ns, "web")
		Expect(all).To(HaveLen(1))
		Expect(live).To(BeEmpty(), "the set was deleted with its instance still live in Talis")
		Consistently(liveCount(ns, "web"), 3*time.Second).Should(BeZero())
		Eventually(func() []string { return eventsFor(ns, "web") }, 5*time.Second, 100*time.Millisecond).Should(ContainElement(HavePrefix("TerminateUndone")), "the undone terminate is reported")
	})

	It("says the Talis project is gone when a terminate finds no project", func() {
		run(managerOptions{})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		create(set)
		eventuallyReady(set, 2)
		name := getSet(set).Status.ProjectName
		c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
		Expect(err).NotTo(HaveOccurred())
		Expect(c.DeleteProject(suiteCtx, talis.ProjectDeleteParams{Name: name, OwnerID: talis.AdminOwnerID})).To(Succeed())

		patchReplicas(set, 1)
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonProjectNotFound)
		Expect(condition(getSet(set), infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(liveCount(ns, "web")()).To(Equal(2), "nothing was terminated, and the set says why")
	})
})
