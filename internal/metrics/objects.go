package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// The per-object gauges are read from the manager's cache at scrape time, as kube-state-metrics
// does: an object that is gone has no series, whatever path its deletion took.
var (
	setReady = prometheus.NewDesc("talis_operator_instanceset_ready",
		"1 when the TalisInstanceSet's Ready condition is True, else 0.", []string{"namespace", "set"}, nil)
	setSynced = prometheus.NewDesc("talis_operator_instanceset_synced",
		"1 when the TalisInstanceSet's Synced condition is True (its last reconcile with Talis worked), else 0.", []string{"namespace", "set"}, nil)
	setPaused = prometheus.NewDesc("talis_operator_instanceset_paused",
		"1 while the TalisInstanceSet is paused (its Synced condition has reason Paused), else 0.", []string{"namespace", "set"}, nil)
	setDesired = prometheus.NewDesc("talis_operator_instanceset_desired_replicas",
		"Instances the TalisInstanceSet asks for: spec.replicas, 0 once it is being deleted.", []string{"namespace", "set"}, nil)
	projectReady = prometheus.NewDesc("talis_operator_project_ready",
		"1 when the TalisProject's Ready condition is True, else 0.", []string{"namespace", "project"}, nil)
	projectSynced = prometheus.NewDesc("talis_operator_project_synced",
		"1 when the TalisProject's Synced condition is True, else 0.", []string{"namespace", "project"}, nil)
	projectPaused = prometheus.NewDesc("talis_operator_project_paused",
		"1 while the TalisProject is paused (its Synced condition has reason Paused), else 0.", []string{"namespace", "project"}, nil)
)

// listTimeout bounds a scrape's cache reads; they only wait when the cache is not synced yet.
const listTimeout = 5 * time.Second

var objects = &objectCollector{}

type objectSource struct {
	reader  client.Reader
	elected <-chan struct{}
}

type objectCollector struct {
	src atomic.Pointer[objectSource]
}

// WatchObjects makes the per-object gauges describe what reader (the manager's cache) holds,
// once elected is closed: only the leader reports, like every other operator metric.
func WatchObjects(reader client.Reader, elected <-chan struct{}) {
	objects.src.Store(&objectSource{reader: reader, elected: elected})
}

func (c *objectCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{setReady, setSynced, setPaused, setDesired, projectReady, projectSynced, projectPaused} {
		ch <- d
	}
}

func (c *objectCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.src.Load()
	if src == nil {
		return
	}
	select {
	case <-src.elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var sets infrav1.TalisInstanceSetList
	if err := src.reader.List(ctx, &sets, client.UnsafeDisableDeepCopy); err == nil {
		for i := range sets.Items {
			s := &sets.Items[i]
			desired := 1.0 // the CRD's default
			switch {
			case !s.DeletionTimestamp.IsZero():
				desired = 0
			case s.Spec.Replicas != nil:
				desired = float64(*s.Spec.Replicas)
			}
			ch <- prometheus.MustNewConstMetric(setReady, prometheus.GaugeValue, isTrue(s.Status.Conditions, infrav1.ConditionReady), s.Namespace, s.Name)
			ch <- prometheus.MustNewConstMetric(setSynced, prometheus.GaugeValue, isTrue(s.Status.Conditions, infrav1.ConditionSynced), s.Namespace, s.Name)
			ch <- prometheus.MustNewConstMetric(setPaused, prometheus.GaugeValue, isPaused(s.Status.Conditions), s.Namespace, s.Name)
			ch <- prometheus.MustNewConstMetric(setDesired, prometheus.GaugeValue, desired, s.Namespace, s.Name)
		}
	}
	var projects infrav1.TalisProjectList
	if err := src.reader.List(ctx, &projects, client.UnsafeDisableDeepCopy); err == nil {
		for i := range projects.Items {
			p := &projects.Items[i]
			ch <- prometheus.MustNewConstMetric(projectReady, prometheus.GaugeValue, isTrue(p.Status.Conditions, infrav1.ConditionReady), p.Namespace, p.Name)
			ch <- prometheus.MustNewConstMetric(projectSynced, prometheus.GaugeValue, isTrue(p.Status.Conditions, infrav1.ConditionSynced), p.Namespace, p.Name)
			ch <- prometheus.MustNewConstMetric(projectPaused, prometheus.GaugeValue, isPaused(p.Status.Conditions), p.Namespace, p.Name)
		}
	}
}

func isTrue(conds []metav1.Condition, t string) float64 {
	if meta.IsStatusConditionTrue(conds, t) {
		return 1
	}
	return 0
}

// isPaused tells a set that is not synced on purpose from one that cannot reach Talis, so that
// alerts on Synced leave paused objects alone.
func isPaused(conds []metav1.Condition) float64 {
	if c := meta.FindStatusCondition(conds, infrav1.ConditionSynced); c != nil && c.Reason == infrav1.ReasonPaused {
		return 1
	}
	return 0
}
