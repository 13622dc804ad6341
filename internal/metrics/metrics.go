// Package metrics defines the operator's Prometheus metrics, registered with controller-runtime's
// registry so they are served next to its own on the manager's metrics endpoint.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

var (
	// TalisCalls counts HTTP attempts to Talis by client method, route and status code ("0": no response).
	TalisCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "talis_operator_talis_requests_total",
		Help: "HTTP requests sent to Talis, by client method, route and status code (0 when no response arrived).",
	}, []string{"method", "route", "code"})

	// TalisLatency is the duration of HTTP attempts to Talis.
	TalisLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "talis_operator_talis_request_duration_seconds",
		Help:    "Duration of HTTP requests sent to Talis, by client method and route.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"method", "route"})

	// Instances is the number of instances a set owns, by Talis state.
	Instances = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "talis_operator_instances",
		Help: "Instances owned by TalisInstanceSets, by namespace, set and Talis state.",
	}, []string{"namespace", "set", "state"})

	// CreateToReady is the time from the create call to the instance first seen ready.
	CreateToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "talis_operator_instance_create_to_ready_seconds",
		Help:    "Time from an instance's create call to the operator first seeing it ready.",
		Buckets: prometheus.ExponentialBuckets(0.25, 2, 14),
	})
)

func init() {
	crmetrics.Registry.MustRegister(TalisCalls, TalisLatency, Instances, CreateToReady)
}

// ObserveCall is a talis.Options.Observer that feeds the call metrics.
func ObserveCall(ci talis.CallInfo) {
	TalisCalls.WithLabelValues(ci.Method, ci.Route, strconv.Itoa(ci.StatusCode)).Inc()
	TalisLatency.WithLabelValues(ci.Method, ci.Route).Observe(ci.Duration.Seconds())
}
