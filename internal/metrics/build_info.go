package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo is 1, labelled with what the manager's --version prints.
var BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "talis_operator_build_info",
	Help: "Always 1; labelled with the manager's version, commit and Go version.",
}, []string{"version", "commit", "go_version"})

// SetBuildInfo sets the one build info series.
func SetBuildInfo(version, commit string) {
	BuildInfo.Reset()
	BuildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
}
