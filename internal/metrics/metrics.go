// Package metrics defines the operator's Prometheus metrics, registered with controller-runtime's
// registry so they are served next to its own on the manager's metrics endpoint. The names and
// labels are listed in README's Metrics section; config/prometheus holds a dashboard and alerts
// built on them.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// collectors is everything this package registers.
var collectors = []prometheus.Collector{
	TalisCalls, TalisLatency, Instances, CreateToReady,
	InstanceCreates, InstanceTerminations, Adoptions, DriftReplacements, StrayTerminations, FailedInstances, DeletionDuration,
	objects, BuildInfo,
}

func init() {
	crmetrics.Registry.MustRegister(collectors...)
}
