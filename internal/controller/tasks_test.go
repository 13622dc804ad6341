package controller

import (
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// The emulator's do-mock fails a create task that asks for provisioning (no public IP to run
// Ansible on) and leaves the instance "provisioning" for ever, as upstream's mock does.
const mockProvisionError = "has no public IP, can't provision"

// tasksRoute is the emulator's name for the route of an instance's tasks.
const tasksRoute = "GET /api/v1/instances/:instance_id/tasks"

// failingSet is a set whose every create task fails in Talis, never turning ready by itself.
func failingSet(ns, name, project string, replicas int32) *infrav1.TalisInstanceSet {
	s := newSet(ns, name, project, replicas)
	s.Spec.Template.Provider = "do-mock"
	s.Spec.Template.Provision = true
	s.Spec.ProvisioningTimeout = &metav1.Duration{Duration: 10 * time.Minute}
	return s
}

// tasksTiming reads tasks quickly and backs off from one second.
func tasksTiming(stallAfter int) *shared.Timing {
	t := testTiming()
	t.TaskCheck, t.FailureBackoff, t.StallAfter = 300*time.Millisecond, time.Second, stallAfter
	return &t
}

// createTimes are the times Talis created the set's instances, oldest first.
func createTimes(ns, name string) []time.Time {
	all, _ := ledger(ns, name)
	var out []time.Time
	for _, e := range all {
		out = append(out, e.CreatedAt)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

var _ = Describe("TalisInstanceSet reading Talis's tasks", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpec(&ns, &mgr)

	It("explains a failed create with the server's error, replaces it with a doubling backoff and stops when every attempt fails alike", func() {
		failedBefore := counterOf("talis_operator_failed_instances_total", nil)
		mgr = startManager(managerOptions{timing: tasksTiming(3)})
		create(newProject(ns, "p"))
		set := failingSet(ns, "web", "p", 1)
		set.Spec.ReplacementBackoffLimit = &metav1.Duration{Duration: 8 * time.Second}
		create(set)

		// Long before provisioningTimeout (10m): the task's own error, in a condition and an event.
		Eventually(func(g Gomega) {
			got := getSet(set)
			d := condition(got, infrav1.ConditionDegraded)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Reason).To(BeElementOf(infrav1.ReasonInstanceFailed, infrav1.ReasonProvisioningFailing))
			g.Expect(d.Message).To(ContainSubstring(mockProvisionError))
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 10*time.Second, 100*time.Millisecond).
			Should(And(ContainSubstring(infrav1.ReasonInstanceFailed), ContainSubstring(mockProvisionError)))

		// Three attempts that fail alike, then the set stops and says why.
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonProvisioningFailing)
		got := getSet(set)
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(got, infrav1.ConditionStalled).Message).To(ContainSubstring(mockProvisionError))
		Expect(condition(got, infrav1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		Expect(got.Status.CreateFailures).NotTo(BeNil())
		Expect(got.Status.CreateFailures.SameError).To(BeEquivalentTo(3))

		// Talis's side: exactly three creates, each after the backoff (1 s, then 2 s), none left live.
		Consistently(func() int { return len(createTimes(ns, "web")) }, 4*time.Second, 200*time.Millisecond).Should(Equal(3))
		at := createTimes(ns, "web")
		Expect(at[1].Sub(at[0])).To(BeNumerically(">=", time.Second), "second attempt waited the first backoff")
		Expect(at[2].Sub(at[1])).To(BeNumerically(">=", 2*time.Second), "third attempt waited twice as long")
		Eventually(liveCount(ns, "web"), 20*time.Second, 100*time.Millisecond).Should(BeZero(), "failed instances are terminated")
		Expect(counterOf("talis_operator_failed_instances_total", nil) - failedBefore).To(BeEquivalentTo(3))

		// A spec edit is a request to try again; this one can work.
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(set), got)).To(Succeed())
		got.Spec.Template.Provider = "do"
		got.Spec.Template.Provision = false
		Expect(k8s.Update(suiteCtx, got)).To(Succeed())
		eventuallyReady(set, 1)
		Expect(getSet(set).Status.CreateFailures).To(BeNil())
	})

	It("doubles the wait after each failed create up to the set's limit, and keeps trying with --stall-after-failures 0", func() {
		mgr = startManager(managerOptions{timing: tasksTiming(0)})
		create(newProject(ns, "p"))
		set := failingSet(ns, "web", "p", 1)
		set.Spec.ReplacementBackoffLimit = &metav1.Duration{Duration: 2 * time.Second}
		create(set)
		Eventually(func() int { return len(createTimes(ns, "web")) }, 30*time.Second, 100*time.Millisecond).Should(BeNumerically(">=", 4))
		at := createTimes(ns, "web")
		Expect(at[1].Sub(at[0])).To(BeNumerically(">=", time.Second))
		Expect(at[2].Sub(at[1])).To(BeNumerically(">=", 2*time.Second))
		Expect(at[3].Sub(at[2])).To(BeNumerically(">=", 2*time.Second), "capped at spec.replacementBackoffLimit")
		got := getSet(set)
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse), "StallAfter 0 never stops")
		Expect(got.Status.CreateFailures.NextCreateAfter).NotTo(BeNil())
	})

	It("deletes a set whose instance is stuck but whose create task finished in seconds, not after provisioningTimeout", func() {
		t := tasksTiming(0)
		t.FailureBackoff = time.Hour // no replacement: the set keeps one stuck instance
		mgr = startManager(managerOptions{timing: t})
		create(newProject(ns, "p"))
		set := failingSet(ns, "web", "p", 1)
		set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: 5 * time.Minute}
		create(set)
		Eventually(func(g Gomega) {
			_, live := ledger(ns, "web")
			g.Expect(live).To(HaveLen(1))
			g.Expect(live[0].Status).To(Equal("provisioning"))
		}, 20*time.Second, 50*time.Millisecond).Should(Succeed())

		deleted := time.Now()
		Expect(k8s.Delete(suiteCtx, getSet(set))).To(Succeed())
		eventuallyGone(set)
		AddReportEntry("deletion with a stuck instance took", time.Since(deleted).Round(10*time.Millisecond).String())
		all, live := ledger(ns, "web")
		Expect(all).To(HaveLen(1), "nothing was created while deleting")
		Expect(live).To(BeEmpty(), "the stuck instance was terminated in Talis")
	})

	It("says once in the condition that tasks are hidden from owners other than 4294967295", func() {
		lookupsBefore := emu.Stats().Requests[tasksRoute]
		mgr = startManager(managerOptions{timing: tasksTiming(3), owner: 7})
		create(newProject(ns, "p"))
		set := failingSet(ns, "web", "p", 1)
		create(set)
		Eventually(func(g Gomega) {
			got := getSet(set)
			r := condition(got, infrav1.ConditionReady)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Reason).To(Equal(infrav1.ReasonProvisioning))
			g.Expect(r.Message).To(ContainSubstring("Talis shows tasks only to owner 4294967295"))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(emu.Stats().Requests[tasksRoute]).To(Equal(lookupsBefore), "no task look-ups for an owner that cannot see them")
		Expect(len(createTimes(ns, "web"))).To(Equal(1))
	})
})
