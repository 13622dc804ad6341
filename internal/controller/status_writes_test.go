package controller

import (
	"encoding/json"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// statusWrites counts the writes that changed a set's status, as a watcher sees them.
type statusWrites struct {
	mu     sync.Mutex
	n      int
	last   string
	lastRV string // of the newest version the watch delivered
	stop   func()
	ready  chan struct{}
}

func countStatusWrites(ns, name string) *statusWrites {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(suiteCtx, &infrav1.TalisInstanceSetList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	c := &statusWrites{stop: w.Stop}
	go func() {
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*infrav1.TalisInstanceSet)
			if !ok || s.Name != name || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			raw, _ := json.Marshal(s.Status)
			c.mu.Lock()
			if c.last != "" && string(raw) != c.last {
				c.n++
			}
			c.last, c.lastRV = string(raw), s.ResourceVersion
			c.mu.Unlock()
		}
	}()
	return c
}

// seen is the resourceVersion of the newest version the watch has delivered.
func (c *statusWrites) seen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRV
}

func (c *statusWrites) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var _ = Describe("Status writes while instances provision", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	converge := func(detailWrite time.Duration) (writes int) {
		timing := testTiming()
		timing.DetailWrite = detailWrite
		timing.Resync = time.Second // drift is found by the steady-state poll
		mgr := startManager(managerOptions{timing: &timing})
		DeferCleanup(mgr.Stop)
		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		sw := countStatusWrites(ns, "web")
		DeferCleanup(sw.stop)
		create(newSet(ns, "web", "p", 3))
		got := eventuallyReady(newSet(ns, "web", "p", 3), 3)
		for _, in := range got.Status.Instances {
			Expect(in.State).To(Equal("ready"))
			Expect(in.PublicIP).NotTo(BeEmpty())
			Expect(in.ReadyAt).NotTo(BeNil())
		}
		// The watch may deliver the Ready version after the read above saw it.
		Eventually(sw.seen, 5*time.Second, 10*time.Millisecond).Should(Equal(got.ResourceVersion), "the watch delivered no Ready version as read, or a write followed it")
		Consistently(sw.count, 500*time.Millisecond, 50*time.Millisecond).Should(Equal(sw.count()))
		return sw.count()
	}

	It("writes the intent and Ready, and holds instance detail in between", func() {
		Expect(converge(time.Minute)).To(Equal(2), "one write for the intent, one for Ready")

		// Health is written at once, however recent the last write.
		got := getSet(newSet(ns, "web", "p", 3))
		victim := got.Status.Instances[0].ID
		terminateDirectly(got.Status.ProjectName, victim)
		eventuallyCondition(got, infrav1.ConditionDegraded, infrav1.ReasonInstanceTerminated)
		got = eventuallyReady(got, 3)
		Expect(instanceIDsOf(got)).NotTo(ContainElement(victim))
	})

	It("writes every change when the interval is 0", func() {
		// The same run without pacing records the created instances before they are ready:
		// the count above is pacing's doing, not the emulator's speed. Instances stay short of
		// ready long enough for a poll to see them so, however loaded the machine.
		slow := suiteDelays
		slow.Ready = time.Second
		emu.SetDelays(slow)
		DeferCleanup(func() { emu.SetDelays(suiteDelays) })
		Expect(converge(0)).To(BeNumerically(">", 2))
	})
})
