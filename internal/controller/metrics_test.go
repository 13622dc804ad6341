package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/test/monitoring"
)

// scrape gathers what the manager's metrics endpoint serves, by family name.
func scrape() map[string]*dto.MetricFamily {
	mfs, err := crmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// seriesNames are the names PromQL can select: a histogram's _bucket, _sum and _count.
func seriesNames(mfs map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, mf := range mfs {
		out[name] = true
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[name+"_sum"], out[name+"_count"] = true, true
		}
	}
	return out
}

// series returns the family's series whose labels include want.
func series(mfs map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range mfs[name].GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && have[k] == v
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

func gaugeOf(name string, labels map[string]string) func() []float64 {
	return func() []float64 {
		var out []float64
		for _, m := range series(scrape(), name, labels) {
			out = append(out, m.GetGauge().GetValue())
		}
		return out
	}
}

func counterOf(name string, labels map[string]string) float64 {
	sum := 0.0
	for _, m := range series(scrape(), name, labels) {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func deletionsObserved(kind string) uint64 {
	n := uint64(0)
	for _, m := range series(scrape(), "talis_operator_deletion_duration_seconds", map[string]string{"kind": kind}) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// observed makes the manager's clients feed the metrics, as cmd/manager does.
func observed(to *talis.Options) { to.Observer = metrics.ObserveCall }

var _ = Describe("Metrics", func() {
	var (
		ns  string
		mgr *runningManager
	)
	BeforeEach(func() { ns = newNamespace() })
	AfterEach(func() { mgr.Stop() })

	It("serves every metric the shipped dashboard and alerts use, and no series of a deleted set", func() {
		mgr = startManager(managerOptions{clients: observed})
		metrics.SetBuildInfo("test", "test") // cmd/manager sets it (its own test checks that)
		created := counterOf("talis_operator_instance_creates_total", map[string]string{"result": metrics.CreateCreated})
		terminated := counterOf("talis_operator_instance_terminations_total", nil)
		deletions := deletionsObserved(metrics.KindInstanceSet)

		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		create(set)
		eventuallyReady(set, 2)
		web := map[string]string{"namespace": ns, "set": "web"}
		Eventually(gaugeOf("talis_operator_instanceset_ready", web), 10*time.Second).Should(Equal([]float64{1}))
		Eventually(gaugeOf("talis_operator_instanceset_synced", web)).Should(Equal([]float64{1}))
		Eventually(gaugeOf("talis_operator_instanceset_desired_replicas", web)).Should(Equal([]float64{2}))
		Eventually(gaugeOf("talis_operator_project_ready", map[string]string{"namespace": ns, "project": "p"})).Should(Equal([]float64{1}))
		Expect(counterOf("talis_operator_instance_creates_total", map[string]string{"result": metrics.CreateCreated}) - created).To(BeNumerically(">=", 2))
		Expect(series(scrape(), "talis_operator_talis_requests_total", map[string]string{
			"endpoint": talisURL, "method": "POST", "code": "201", "call": "CreateInstance"})).NotTo(BeEmpty())

		refs, err := monitoring.ReferencedMetrics("../..")
		Expect(err).NotTo(HaveOccurred())
		Expect(refs).NotTo(BeEmpty())
		exposed := seriesNames(scrape())
		for name, where := range refs {
			Expect(exposed).To(HaveKey(name), "%s, used by %v, is not served by the manager", name, where)
		}

		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		Eventually(func() int {
			mfs := scrape()
			n := 0
			for _, name := range []string{"talis_operator_instanceset_ready", "talis_operator_instanceset_synced",
				"talis_operator_instanceset_desired_replicas", "talis_operator_instances"} {
				n += len(series(mfs, name, web))
			}
			return n
		}, 10*time.Second).Should(BeZero(), "a deleted set keeps series")
		Expect(counterOf("talis_operator_instance_terminations_total", nil) - terminated).To(BeNumerically(">=", 2))
		Expect(deletionsObserved(metrics.KindInstanceSet) - deletions).To(BeNumerically(">=", 1))
	})

	It("counts instances terminated outside Kubernetes and instances adopted", func() {
		timing := testTiming()
		timing.Resync = 2 * time.Second // drift is found by the steady-state poll
		mgr = startManager(managerOptions{timing: &timing})
		drift := counterOf("talis_operator_drift_replacements_total", nil)
		adopted := counterOf("talis_operator_adoptions_total", map[string]string{"kind": metrics.KindInstance})

		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 2)
		set.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		create(set)
		eventuallyReady(set, 2)
		Expect(k8s.Delete(suiteCtx, set)).To(Succeed())
		eventuallyGone(set)
		again := newSet(ns, "web", "p", 2)
		create(again)
		got := eventuallyReady(again, 2)
		Expect(counterOf("talis_operator_adoptions_total", map[string]string{"kind": metrics.KindInstance})-adopted).
			To(BeNumerically(">=", 2), joined(eventsFor(ns, "web")))

		terminateDirectly(got.Status.ProjectName, got.Status.Instances[0].ID)
		Eventually(func() float64 { return counterOf("talis_operator_drift_replacements_total", nil) - drift }, 30*time.Second).
			Should(BeNumerically(">=", 1))
	})
})
