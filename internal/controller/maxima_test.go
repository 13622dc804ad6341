package controller

import (
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// statusPeaks follows every stored version of a set: the most entries its status held or would
// hold once the pending create is recorded, and the intents (pending creates) that were written.
type statusPeaks struct {
	mu        sync.Mutex
	projected int
	intents   map[int64]int32 // attempt → count
	stop      func()
}

func watchStatusPeaks(ns, name string) *statusPeaks {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(suiteCtx, &infrav1.TalisInstanceSetList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	p := &statusPeaks{intents: map[int64]int32{}, stop: w.Stop}
	go func() {
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*infrav1.TalisInstanceSet)
			if !ok || s.Name != name || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			p.mu.Lock()
			n := len(s.Status.Instances)
			if pc := s.Status.PendingCreate; pc != nil {
				p.intents[pc.Attempt] = pc.Count
				n += int(pc.Count)
			}
			p.projected = max(p.projected, n)
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *statusPeaks) get() (int, map[int64]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int64]int32{}
	for k, v := range p.intents {
		out[k] = v
	}
	return p.projected, out
}

var _ = Describe("A set at the CRD's maxima", func() {
	It("rolls 1000 replicas with the largest surge: every intent is stored, status stays within its bound, and the large create's event is kept", func() {
		ns := newNamespace()
		timing := testTiming()
		timing.MaxCreateBatch = 500 // the surge in one call: its event lists 500 IDs
		mgr := startManager(managerOptions{timing: &timing})
		DeferCleanup(mgr.Stop)
		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())

		const replicas = 1000
		surge := int32(infrav1.MaxPlannedInstances - replicas)
		set := newSet(ns, "web", "p", replicas)
		set.Spec.Strategy.RollingUpdate = &infrav1.RollingUpdate{MaxSurge: surge}
		create(set)
		ready := func(hash string) {
			EventuallyWithOffset(1, func(g Gomega) {
				got := getSet(set)
				c := condition(got, infrav1.ConditionReady)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Ready: %s %s", c.Reason, c.Message)
				g.Expect(got.Status.UpdatedReplicas).To(BeEquivalentTo(replicas))
				g.Expect(got.Status.Instances).To(HaveLen(replicas))
				if hash != "" {
					g.Expect(got.Status.TemplateHash).NotTo(Equal(hash))
				}
			}, 5*time.Minute, 250*time.Millisecond).Should(Succeed())
		}
		ready("")
		before := getSet(set)

		peaks := watchStatusPeaks(ns, "web")
		DeferCleanup(peaks.stop)
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(set), set)).To(Succeed())
		set.Spec.Template.Size = "s-2vcpu-2gb"
		Expect(k8s.Update(suiteCtx, set)).To(Succeed())
		ready(before.Status.TemplateHash)

		projected, intents := peaks.get()
		Expect(projected).To(BeNumerically("<=", infrav1.MaxPlannedInstances),
			"status entries plus a pending create: entries being terminated count, creates wait for them")
		Expect(projected).To(BeNumerically(">", replicas), "the roll used its surge")
		var surged bool
		for attempt, n := range intents {
			if attempt > before.Status.LastCreateAttempt && n == surge {
				surged = true
			}
		}
		Expect(surged).To(BeTrue(), "an intent to create the whole surge was stored: %v", intents)
		// events.k8s.io refuses notes over 1 KB: an event listing every ID would be dropped.
		Eventually(func() string { return joined(eventsFor(ns, "web")) }, 30*time.Second).
			Should(MatchRegexp(`[Cc]reated 500 instance\(s\) in Talis \(attempt \d+\): [0-9,]+,… and 490 more`))
	})
})
