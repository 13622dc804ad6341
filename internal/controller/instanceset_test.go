package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
)

var _ = Describe("TalisInstanceSet", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpecWithManager(&ns, &mgr)

	It("creates instances and reports them Ready with their IPs", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 3)
		create(set)

		got := eventuallyReady(set, 3)
		Expect(got.Status.Instances).To(HaveLen(3))
		for _, in := range got.Status.Instances {
			Expect(in.State).To(Equal("ready"))
			Expect(in.PublicIP).NotTo(BeEmpty())
			Expect(in.ProviderInstanceID).NotTo(BeZero())
			Expect(in.TemplateHash).To(Equal(got.Status.TemplateHash))
			Expect(in.ReadyAt).NotTo(BeNil())
		}
		all, live := ledger(ns, "web")
		Expect(all).To(HaveLen(3), "exactly one create of 3 instances")
		Expect(live).To(HaveLen(3))
		for _, e := range all {
			Expect(e.Tags).To(ContainElements("team:test", creates.TagManaged))
		}
		Expect(condition(got, infrav1.ConditionReconciling).Status).To(BeEquivalentTo("False"))
		Expect(condition(got, infrav1.ConditionStalled).Status).To(BeEquivalentTo("False"))
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("reated 3 instance(s) in Talis (attempt 1)"), "a create is told in an Event, with or without the transition it causes")
	})

	It("scales up and down, removing named, then not-ready, then newest instances", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		create(set)
		eventuallyReady(set, 2)

		// kubectl scale goes through the scale subresource.
		scale := &autoscalingv1.Scale{}
		Expect(k8s.SubResource("scale").Get(suiteCtx, set, scale)).To(Succeed())
		Expect(scale.Status.Replicas).To(BeEquivalentTo(2))
		scale.Spec.Replicas = 5
		Expect(k8s.SubResource("scale").Update(suiteCtx, set, client.WithSubResourceBody(scale))).To(Succeed())
		got := eventuallyReady(set, 5)
		Expect(liveCount(ns, "web")()).To(Equal(5))

		// The annotation picks a victim that is neither the newest nor not-ready.
		oldest := got.Status.Instances[0].ID
		patch := client.MergeFrom(got.DeepCopy())
		got.Annotations = map[string]string{infrav1.DeleteInstancesAnnotation: itoa(oldest)}
		got.Spec.Replicas = ptr.To[int32](3)
		Expect(k8s.Patch(suiteCtx, got, patch)).To(Succeed())
		got = eventuallyReady(set, 3)
		Eventually(liveCount(ns, "web"), 20*time.Second).Should(Equal(3))
		ids := instanceIDsOf(got)
		Expect(ids).NotTo(ContainElement(oldest))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(5), "scaling never creates more than asked")
		// Survivors are the oldest except the named one: the newest went first.
		Expect(ids).To(Equal([]int64{int64(all[1].ID), int64(all[2].ID), int64(all[3].ID)}))
	})

	It("rolls a template change, never below the desired ready count", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 3)
		create(set)
		before := eventuallyReady(set, 3)

		got := getSet(set)
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Template.Size = "s-2vcpu-2gb"
		Expect(k8s.Patch(suiteCtx, got, patch)).To(Succeed())

		Eventually(func(g Gomega) {
			cur := getSet(set)
			g.Expect(cur.Status.ReadyReplicas).To(BeNumerically(">=", 3), "maxUnavailable 0 keeps 3 ready")
			g.Expect(cur.Status.TemplateHash).NotTo(Equal(before.Status.TemplateHash))
			g.Expect(cur.Status.UpdatedReplicas).To(BeEquivalentTo(3))
			g.Expect(condition(cur, infrav1.ConditionReady).Status).To(BeEquivalentTo("True"))
		}, 60*time.Second, 50*time.Millisecond).Should(Succeed())
		Eventually(liveCount(ns, "web"), 20*time.Second).Should(Equal(3))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(6), "3 originals and 3 replacements")
	})

	It("terminates every instance when deleted", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 3)
		create(set)
		eventuallyReady(set, 3)

		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		all, live := ledger(ns, "web")
		Expect(all).To(HaveLen(3))
		Expect(live).To(BeEmpty(), "no instance is left running")
	})

	It("orphans instances with deletionPolicy Orphan and a re-created set adopts them", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		set.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		create(set)
		first := eventuallyReady(set, 2)

		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		Consistently(liveCount(ns, "web"), time.Second).Should(Equal(2))

		again := newSet(ns, "web", "p", 2)
		create(again)
		got := eventuallyReady(again, 2)
		Expect(instanceIDsOf(got)).To(Equal(instanceIDsOf(first)))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(2), "adopted, not created again")
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("Adopted instance(s)"))
	})

	It("pauses: no Talis calls while the annotation is set", func() {
		create(newProject(ns, "p"))
		Eventually(func() int64 {
			p := &infrav1.TalisProject{}
			_ = k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "p"}, p)
			return p.Status.ProjectID
		}, 20*time.Second).ShouldNot(BeZero())
		set := newSet(ns, "web", "p", 2)
		set.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
		create(set)
		Consistently(liveCount(ns, "web"), 2*time.Second).Should(BeZero())
		eventuallyCondition(set, infrav1.ConditionProgressing, infrav1.ReasonPaused)

		got := getSet(set)
		patch := client.MergeFrom(got.DeepCopy())
		delete(got.Annotations, infrav1.PausedAnnotation)
		Expect(k8s.Patch(suiteCtx, got, patch)).To(Succeed())
		eventuallyReady(set, 2)
	})

	It("replaces an instance terminated outside Kubernetes and reports Degraded meanwhile", func() {
		mgr.Stop()
		timing := testTiming()
		timing.Resync = 2 * time.Second // drift is found by the steady-state poll
		mgr = startManager(managerOptions{timing: &timing})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		create(set)
		got := eventuallyReady(set, 2)

		victim := got.Status.Instances[0].ID
		terminateDirectly(got.Status.ProjectName, victim)
		eventuallyCondition(set, infrav1.ConditionDegraded, infrav1.ReasonInstanceTerminated)
		got = eventuallyReady(set, 2)
		Expect(instanceIDsOf(got)).NotTo(ContainElement(victim))
		Expect(condition(got, infrav1.ConditionDegraded).Status).To(BeEquivalentTo("False"))
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("terminated outside Kubernetes"))
	})
})
