package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// Instances is set by the reconciler, which deletes a set's series when it goes.
	Instances = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "talis_operator_instances",
		Help: "Instances owned by TalisInstanceSets, by namespace, set and Talis state.",
	}, []string{"namespace", "set", "state"})

	CreateToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "talis_operator_instance_create_to_ready_seconds",
		Help:    "Time from an instance's create call to the operator first seeing it ready.",
		Buckets: prometheus.ExponentialBuckets(0.25, 2, 14),
	})
)
