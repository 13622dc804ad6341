package controller

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"k8s.io/utils/ptr"
)

// crashAt returns a hook that, the first time the reconciler reaches step, tells the test and
// never returns: nothing after that line runs, which is what a process kill looks like to
// Kubernetes and Talis.
func crashAt(step string) (instanceset.StepHook, chan struct{}) {
	crashed := make(chan struct{})
	var hit atomic.Bool
	return func(_ context.Context, s string) {
		if s != step || !hit.CompareAndSwap(false, true) {
			return
		}
		close(crashed)
		select {}
	}, crashed
}

var _ = Describe("TalisInstanceSet across manager crashes", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("creates exactly the desired instances when the manager dies after a create step",
		func(step string) {
			hook, crashed := crashAt(step)
			first := startManager(managerOptions{hook: hook})
			create(newProject(ns, "p"))
			set := newSet(ns, "web", "p", 3)
			create(set)
			Eventually(crashed, 30*time.Second).Should(BeClosed())
			first.Stop()

			second := startManager(managerOptions{})
			defer second.Stop()
			eventuallyReady(set, 3)
			Consistently(liveCount(ns, "web"), time.Second).Should(Equal(3))
			all, _ := ledger(ns, "web")
			Expect(all).To(HaveLen(3), "no instance was created twice")
			Expect(getSet(set).Status.PendingCreate).To(BeNil())
		},
		Entry("after the intent is written, before the create call", instanceset.StepIntentRecorded),
		Entry("after the create call returns, before its result is recorded", instanceset.StepCreateReturned),
		Entry("after the result is recorded", instanceset.StepCreateRecorded),
	)

	It("finishes a scale-down when the manager dies right after the terminate call", func() {
		m := startManager(managerOptions{})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 4)
		create(set)
		eventuallyReady(set, 4)
		m.Stop()

		hook, crashed := crashAt(instanceset.StepTerminateSent)
		first := startManager(managerOptions{hook: hook})
		patchReplicas(set, 2)
		Eventually(crashed, 30*time.Second).Should(BeClosed())
		first.Stop()

		second := startManager(managerOptions{})
		defer second.Stop()
		eventuallyReady(set, 2)
		Eventually(liveCount(ns, "web"), 20*time.Second).Should(Equal(2))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(4), "scale-down creates nothing")
	})

	It("deletes everything when the manager dies while terminating for a deletion", func() {
		m := startManager(managerOptions{})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 3)
		create(set)
		eventuallyReady(set, 3)
		m.Stop()

		hook, crashed := crashAt(instanceset.StepTerminateSent)
		first := startManager(managerOptions{hook: hook})
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		Eventually(crashed, 30*time.Second).Should(BeClosed())
		first.Stop()

		second := startManager(managerOptions{})
		defer second.Stop()
		eventuallyGone(set)
		Expect(liveCount(ns, "web")()).To(BeZero())
	})

	It("does not create again when the create's response is lost (ambiguous outcome)", func() {
		m := startManager(managerOptions{})
		defer m.Stop()
		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		emu.SetFaults(faultsFor("POST /api/v1/instances", commitThenDrop(3*time.Second)))
		set := newSet(ns, "web", "p", 2)
		set.Spec.Replicas = ptr.To[int32](2)
		create(set)
		Eventually(func() int { all, _ := ledger(ns, "web"); return len(all) }, 20*time.Second).Should(Equal(2))
		emu.SetFaults(noFaults())
		eventuallyReady(set, 2)
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(2), "the lost create was found by its tags, not repeated")
	})
})
