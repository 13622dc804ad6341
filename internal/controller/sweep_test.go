package controller

import (
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/test/harness"
)

// sweepTiming: a drift interval of half a second and a grace of one, so that a stray is
// terminated within a few seconds of landing.
func sweepTiming() *shared.Timing {
	t := testTiming()
	t.Resync = 10 * time.Minute // only the drift clock can see a stray in time
	t.DriftPoll = 500 * time.Millisecond
	t.StrayGrace = time.Second
	return &t
}

func getProject(ns, name string) *infrav1.TalisProject {
	p := &infrav1.TalisProject{}
	Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
	return p
}

// sweptProject creates a TalisProject and waits until its sweep has recorded where it starts.
func sweptProject(ns, name string) *infrav1.TalisProject {
	create(newProject(ns, name))
	var p *infrav1.TalisProject
	Eventually(func(g Gomega) {
		p = getProject(ns, name)
		g.Expect(p.Status.ProjectID).NotTo(BeZero())
		g.Expect(p.Status.SweepAfterID).NotTo(BeNil())
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	return p
}

// ghostInstance creates in Talis, behind the operator, an instance tagged for a set of the
// project that does not exist, as a create its set sent before it was deleted would.
func ghostInstance(p *infrav1.TalisProject, ns, set string) int64 {
	return createTagged(ghostRequest(p, ns, set))
}

// ghostRequest is the create request the set would have sent as its first attempt (with the
// template the API server would have defaulted, so that a set of that name adopts it as current).
func ghostRequest(p *infrav1.TalisProject, ns, set string) talis.InstanceRequest {
	ghost := newSet(ns, set, p.Name, 1)
	Expect(k8s.Create(suiteCtx, ghost, client.DryRunAll)).To(Succeed())
	ghost.Status.Identity = creates.Identity("", ns, set)
	return instanceset.InstanceRequest(ghost, p, talis.AdminOwnerID, &infrav1.PendingCreate{
		Attempt: 1, Count: 1, TemplateHash: instanceset.TemplateHash(ghost.Spec.Template)})
}

func createTagged(req talis.InstanceRequest) int64 {
	made, err := talisClient().CreateInstance(suiteCtx, []talis.InstanceRequest{req})
	Expect(err).NotTo(HaveOccurred())
	Expect(made).To(HaveLen(1))
	return int64(made[0].ID)
}

func ledgerStatus(id int64) string {
	for _, e := range emu.Ledger() {
		if int64(e.ID) == id {
			return e.Status
		}
	}
	return ""
}

var _ = Describe("The sweep of stray instances", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpec(&ns, &mgr)

	It("terminates a create that Talis applies after its set is gone, within the drift interval, and names it in a Warning event", func() {
		proxy, err := harness.NewProxy(talisURL)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		release := make(chan struct{})
		released := false
		DeferCleanup(func() {
			if !released {
				close(release)
			}
		})
		mgr = startManager(managerOptions{timing: sweepTiming(), url: proxy.URL()})
		p := sweptProject(ns, "p")
		strayedBefore := testutil.ToFloat64(metrics.StrayTerminations)

		// The set's first create is held by the gateway; the set is deleted meanwhile. It can only
		// wait out the create's window, judge it not applied, and go.
		proxy.HoldCreatesUntil(release)
		set := newSet(ns, "web", "p", 1)
		create(set)
		Eventually(proxy.CreatesInFlight, 20*time.Second, 50*time.Millisecond).Should(Equal(1))
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		Expect(liveCount(ns, "web")()).To(BeZero())
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("no create of it is pending"))
		Expect(joined(eventsFor(ns, "web"))).NotTo(ContainSubstring("All instances are terminated"))

		// The gateway lets the create through now: Talis makes an instance for a set that is gone.
		proxy.HoldCreatesUntil(nil)
		close(release)
		released = true
		var stray int64
		Eventually(func(g Gomega) {
			all, _ := ledger(ns, "web")
			g.Expect(all).To(HaveLen(1))
			stray = int64(all[0].ID)
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed(), "the held create lands")
		landed := time.Now()

		Eventually(func() string { return ledgerStatus(stray) }, 30*time.Second, 100*time.Millisecond).
			Should(Equal("terminated"), "the late instance %d is still running in Talis", stray)
		took := time.Since(landed)
		GinkgoWriter.Printf("stray %d terminated %s after it landed\n", stray, took)

		Eventually(func() []string { return warnings(ns, "p") }, 5*time.Second, 100*time.Millisecond).Should(ContainElement(
			SatisfyAll(HavePrefix(infrav1.ReasonStrayInstances+": Terminating instance(s) "+itoa(stray)), ContainSubstring(`TalisInstanceSet "web"`))))
		Expect(testutil.ToFloat64(metrics.StrayTerminations)).To(BeNumerically(">=", strayedBefore+1))
		// The condition said so while it lasted, and is Ready again once the instance is gone.
		Eventually(func() []string { return warnings(ns, "p") }, 5*time.Second, 100*time.Millisecond).Should(
			ContainElement(SatisfyAll(HavePrefix(infrav1.ReasonStrayInstances+": "), ContainSubstring("no longer exist"))))
		Eventually(func(g Gomega) {
			got := getProject(ns, "p")
			g.Expect(got.Status.Reason).To(Equal(infrav1.ReasonReady))
			g.Expect(shared.FindCondition(got.Status.Conditions, infrav1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(p.Status.ProjectID).To(Equal(getProject(ns, "p").Status.ProjectID))
	})

	It("leaves the instances of a set deleted with deletionPolicy Orphan running, recording why, while it terminates a stray beside them", func() {
		mgr = startManager(managerOptions{timing: sweepTiming()})
		p := sweptProject(ns, "p")
		set := newSet(ns, "web", "p", 2)
		set.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		create(set)
		orphaned := instanceIDsOf(eventuallyReady(set, 2))
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)

		got := getProject(ns, "p")
		Expect(got.Status.OrphanedSets).To(ConsistOf(SatisfyAll(
			HaveField("Identity", creates.Identity("", ns, "web")), HaveField("Name", "web"))))
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("status.orphanedSets"))

		stray := ghostInstance(p, ns, "gone")
		Eventually(func() string { return ledgerStatus(stray) }, 30*time.Second, 100*time.Millisecond).Should(Equal("terminated"))
		Consistently(liveCount(ns, "web"), 3*time.Second, 100*time.Millisecond).Should(Equal(2), "orphaned instances %v", orphaned)
		_, live := ledger(ns, "web")
		for _, e := range live {
			Expect(orphaned).To(ContainElement(int64(e.ID)))
		}
	})

	It("leaves a stray alone while a set of its name is re-created within the grace: the set adopts it", func() {
		timing := sweepTiming()
		timing.StrayGrace = 5 * time.Second
		mgr = startManager(managerOptions{timing: timing})
		p := sweptProject(ns, "p")
		stray := ghostInstance(p, ns, "web")
		Eventually(func() string { return ledgerStatus(stray) }, 10*time.Second, 50*time.Millisecond).Should(Equal("ready"))
		time.Sleep(2 * timing.DriftPoll) // seen as a stray by now

		set := newSet(ns, "web", "p", 1)
		create(set)
		got := eventuallyReady(set, 1)
		Expect(instanceIDsOf(got)).To(Equal([]int64{stray}), "adopted")
		Consistently(func() string { return ledgerStatus(stray) }, 2*timing.StrayGrace, 200*time.Millisecond).Should(Equal("ready"))
		all, _ := ledger(ns, "web")
		Expect(all).To(HaveLen(1), "adopted, not terminated and created again")
	})

	It("never touches an instance without the operator's tags", func() {
		mgr = startManager(managerOptions{timing: sweepTiming()})
		p := sweptProject(ns, "p")
		// Tagged for a set that does not exist, as the operator tags, but without tio-managed.
		req := ghostRequest(p, ns, "web")
		req.Tags = slices.DeleteFunc(req.Tags, func(t string) bool { return t == creates.TagManaged })
		outside := createTagged(req)
		Consistently(func() string { return ledgerStatus(outside) }, 4*time.Second, 200*time.Millisecond).ShouldNot(Equal("terminated"))
	})
})
