package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

var _ = Describe("The endpoint and owner a project was created with", func() {
	It("stay in use after the manager's --talis-url and --default-owner-id change, so deleting a set leaves nothing live at the first endpoint", func() {
		second := emulator.New(emulator.Config{Seed: 2})
		secondURL, err := second.Start("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Close)

		ns := newNamespace()
		mgr := startManager(managerOptions{noKey: true})
		p, set := newProject(ns, "p"), newSet(ns, "web", "p", 2)
		create(p, set)
		eventuallyReady(set, 2)
		got := &infrav1.TalisProject{}
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Status.Endpoint).To(Equal(talisURL))

		// Admission refuses moving the project: setting, changing or removing connection.url.
		got.Spec.Connection = &infrav1.TalisConnection{URL: secondURL}
		Expect(k8s.Update(suiteCtx, got)).To(MatchError(ContainSubstring("connection.url cannot be set, changed or removed")))

		// The manager's flags change under it: a condition and an Event say so, and the project
		// and its set keep working against the endpoint and owner they were created with.
		mgr.Stop()
		mgr = startManager(managerOptions{url: secondURL, owner: 7, allowedURLs: []string{talisURL}, noKey: true})
		DeferCleanup(mgr.Stop)
		Eventually(projectReason(ns, "p"), 20*time.Second).Should(Equal(infrav1.ReasonEndpointChanged))
		Eventually(func() string { return joined(eventsFor(ns, "p")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring(infrav1.ReasonEndpointChanged))

		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		Expect(liveCount(ns, "web")()).To(BeZero(), "instances left live at the endpoint the project was created with")
		Expect(second.Ledger()).To(BeEmpty(), "nothing was created at the new URL")
	})

	It("with the manager's own key, stops and says so after --talis-url changes, and deletes once it is restored", func() {
		second := emulator.New(emulator.Config{Seed: 2})
		secondURL, err := second.Start("127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Close)

		ns := newNamespace()
		mgr := startManager(managerOptions{})
		DeferCleanup(mgr.Stop)
		p, set := newProject(ns, "p"), newSet(ns, "web", "p", 2)
		create(p, set)
		eventuallyReady(set, 2)
		mgr.Stop()

		// The key only goes to the manager's URL: nothing can reach the instances, and the set's
		// deletion waits with them live rather than forgetting them.
		mgr = startManager(managerOptions{url: secondURL, allowedURLs: []string{talisURL}})
		DeferCleanup(mgr.Stop)
		Eventually(func(g Gomega) string { // STATUS in kubectl get: Stalled, while Ready says the project exists
			got := &infrav1.TalisProject{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			return got.Status.Reason
		}, 20*time.Second).Should(Equal(infrav1.ReasonEndpointChanged))
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonEndpointChanged)
		Consistently(liveCount(ns, "web"), 2*time.Second).Should(Equal(2), "the instances are still tracked, not dropped")
		Expect(getSet(set).Finalizers).To(ContainElement(infrav1.Finalizer))
		Expect(second.Ledger()).To(BeEmpty(), "nothing was sent to the new URL")
		mgr.Stop()

		mgr = startManager(managerOptions{})
		DeferCleanup(mgr.Stop)
		eventuallyGone(set)
		Expect(liveCount(ns, "web")()).To(BeZero(), "instances left live at the endpoint the project was created with")
	})

	It("reports a changed --default-owner-id and keeps the recorded owner", func() {
		ns := newNamespace()
		mgr := startManager(managerOptions{})
		p, set := newProject(ns, "p"), newSet(ns, "web", "p", 1)
		create(p, set)
		eventuallyReady(set, 1)
		mgr.Stop()
		mgr = startManager(managerOptions{owner: 7})
		DeferCleanup(mgr.Stop)
		Eventually(projectReason(ns, "p"), 20*time.Second).Should(Equal(infrav1.ReasonOwnerChanged))
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		Expect(liveCount(ns, "web")()).To(BeZero())
	})
})
