package controller

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

// polls counts the observer's looks at Talis: whole instance lists, and passes through a
// project's pages (one page each for a project of under 50 instances), which it makes instead
// when the suite's other projects hold most of the emulator's rows.
func polls() int64 {
	r := emu.Stats().Requests
	return r["GET /api/v1/instances"] + r["RPC project.listInstances"]
}

// readCounter counts the manager's reads of one set: each reconcile of it starts with one.
type readCounter struct {
	client.Client
	name  string
	reads atomic.Int64
}

func (c *readCounter) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key.Name == c.name {
		c.reads.Add(1)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

var _ = Describe("TalisInstanceSet drift", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpec(&ns, &mgr)

	It("sees an instance terminated outside Kubernetes within the drift interval, long before the resync, and wakes only its set", func() {
		timing := testTiming()
		timing.Resync = 10 * time.Minute // as the manager's default: only the drift poll can see it in time
		timing.DriftPoll = 500 * time.Millisecond
		reads := &readCounter{name: "db"}
		mgr = startManager(managerOptions{timing: &timing, wrapClient: func(c client.Client) client.Client { reads.Client = c; return reads }})
		create(newProject(ns, "p"))
		victimSet, bystander := newSet(ns, "web", "p", 2), newSet(ns, "db", "p", 1)
		create(victimSet, bystander)
		got := eventuallyReady(victimSet, 2)
		eventuallyReady(bystander, 1)
		// Once steady, the bystander is not reconciled again before its resync.
		Eventually(func() int64 {
			before := reads.reads.Load()
			time.Sleep(4 * timing.DriftPoll)
			return reads.reads.Load() - before
		},
			20*time.Second).Should(BeZero())
		readsBefore := reads.reads.Load()

		victim := got.Status.Instances[0].ID
		terminateDirectly(got.Status.ProjectName, victim)
		Eventually(func(g Gomega) {
			d := condition(getSet(victimSet), "Degraded")
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Reason).To(Equal("InstanceTerminatedExternally"))
		}, 15*time.Second, 50*time.Millisecond).Should(Succeed())
		got = eventuallyReady(victimSet, 2)
		Expect(instanceIDsOf(got)).NotTo(ContainElement(victim))
		Expect(liveCount(ns, "web")()).To(Equal(2))

		// The other set had nothing to do: the drift poll did not wake it.
		Expect(reads.reads.Load()).To(Equal(readsBefore))
	})

	It("sees a late create's instance (tagged for the set, unknown to its status) within the drift interval and terminates the surplus", func() {
		timing := testTiming()
		timing.Resync = 10 * time.Minute
		timing.DriftPoll = 500 * time.Millisecond
		mgr = startManager(managerOptions{timing: &timing})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		create(set)
		got := eventuallyReady(set, 2)
		time.Sleep(4 * timing.DriftPoll) // steady: only the drift poll looks at Talis now

		// A create held by a gateway past the set's ambiguity window reaches Talis only now.
		late := lateArrival(got)
		Eventually(func(g Gomega) {
			_, live := ledger(ns, "web")
			g.Expect(live).To(HaveLen(2))
			g.Expect(instanceIDsOf(getSet(set))).To(HaveLen(2))
		}, 15*time.Second, 50*time.Millisecond).Should(Succeed(), "late instance %d not absorbed", late)
		live := harness.LedgerByIdentity(emu.Ledger())[got.Status.Identity].LiveIDs()
		Expect(live).To(ConsistOf(instanceIDsOf(getSet(set))))
	})

	It("lists once per drift interval in steady state, not every other interval", func() {
		timing := testTiming()
		timing.Resync = 10 * time.Minute // no resync in the window: every list is the drift poll's
		timing.DriftPoll = 500 * time.Millisecond
		mgr = startManager(managerOptions{timing: &timing})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 1)
		create(set)
		eventuallyReady(set, 1)
		time.Sleep(2 * timing.DriftPoll) // the set's own polls are over

		const intervals = 10
		before := polls()
		time.Sleep(intervals * timing.DriftPoll)
		lists := polls() - before
		// A list the previous tick fetched is no older than the interval, but it has been
		// compared already: taking it again would see a change only every other interval.
		Expect(lists).To(BeNumerically(">=", intervals*8/10), "instance lists or passes in %d drift intervals", intervals)
	})
})
