package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Results of a create call, the result label of InstanceCreates.
const (
	CreateCreated   = "created"
	CreateAmbiguous = "ambiguous" // may have been applied: the instances are looked up by tag
	CreateFailed    = "failed"
	CreateNotSent   = "not_sent" // its deadline passed before it could be sent
)

// Kinds, the kind label of Adoptions and DeletionDuration.
const (
	KindInstance    = "instance"
	KindProject     = "TalisProject"
	KindInstanceSet = "TalisInstanceSet"
)

var (
	InstanceCreates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "talis_operator_instance_creates_total",
		Help: `Instances asked of Talis in create calls, by the call's result: created, ambiguous (may have been applied; looked up by tag), failed, not_sent (its deadline passed first).`,
	}, []string{"result"})

	InstanceTerminations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "talis_operator_instance_terminations_total",
		Help: "Instances in terminate calls that Talis accepted.",
	})

	Adoptions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "talis_operator_adoptions_total",
		Help: `Existing Talis objects taken over, by kind: "instance" (tagged for a set, e.g. left by an Orphan deletion or a lost create response) or "TalisProject".`,
	}, []string{"kind"})

	DriftReplacements = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "talis_operator_drift_replacements_total",
		Help: "Instances found terminated outside Kubernetes; the set replaces each one it still wants.",
	})

	StrayTerminations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "talis_operator_stray_instances_terminated_total",
		Help: "Instances tagged for TalisInstanceSets that no longer exist (created in Talis after their set was deleted) that their project's sweep terminated.",
	})

	FailedInstances = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "talis_operator_failed_instances_total",
		Help: "Instances whose create task failed in Talis (seen by reading the task); each is terminated and replaced after the set's backoff.",
	})

	DeletionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "talis_operator_deletion_duration_seconds",
		Help:    "Time from an object's deletionTimestamp to the operator removing its finalizer, by kind.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
	}, []string{"kind"})
)

// Every known label value has a series from the start, so rate() and alerts see the first event.
func init() {
	for _, r := range []string{CreateCreated, CreateAmbiguous, CreateFailed, CreateNotSent} {
		InstanceCreates.WithLabelValues(r)
	}
	for _, k := range []string{KindInstance, KindProject} {
		Adoptions.WithLabelValues(k)
	}
	for _, k := range []string{KindInstanceSet, KindProject} {
		DeletionDuration.WithLabelValues(k)
	}
}

// CountCreate records a create call for n instances that ended with err.
func CountCreate(n int, err error) {
	InstanceCreates.WithLabelValues(createResult(err)).Add(float64(n))
}

func createResult(err error) string {
	switch {
	case err == nil:
		return CreateCreated
	case talis.IsAmbiguous(err):
		return CreateAmbiguous
	case errors.Is(err, talis.ErrDeadlinePassed):
		return CreateNotSent
	default:
		return CreateFailed
	}
}

// CountTerminations records a terminate call for n instances that Talis accepted.
func CountTerminations(n int) { InstanceTerminations.Add(float64(n)) }

// CountAdoptions records n objects of kind taken over.
func CountAdoptions(kind string, n int) { Adoptions.WithLabelValues(kind).Add(float64(n)) }

// CountDriftReplacements records n instances found terminated outside Kubernetes.
func CountDriftReplacements(n int) { DriftReplacements.Add(float64(n)) }

// CountStrayTerminations records n stray instances terminated for the first time.
func CountStrayTerminations(n int) { StrayTerminations.Add(float64(n)) }

// CountFailedInstances records instances whose create task was found failed.
func CountFailedInstances(n int) { FailedInstances.Add(float64(n)) }

// ObserveDeletion records that an object of kind whose deletion started at deleted has just lost
// its finalizer.
func ObserveDeletion(kind string, deleted *metav1.Time) {
	if deleted.IsZero() {
		return
	}
	DeletionDuration.WithLabelValues(kind).Observe(time.Since(deleted.Time).Seconds())
}
