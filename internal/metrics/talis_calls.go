package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// The labels follow client-go's rest_client_requests_total: method is the HTTP verb, code the
// status or "<error>" when no response arrived, endpoint the server (scheme and host only). call
// (the client method) and route are one-to-one with each other and add no series.
var (
	TalisCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "talis_operator_talis_requests_total",
		Help: `HTTP requests sent to Talis, by endpoint (scheme://host), HTTP method, status code ("<error>" when no response arrived), client call and route.`,
	}, []string{"endpoint", "method", "code", "call", "route"})

	TalisLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "talis_operator_talis_request_duration_seconds",
		Help:    "Duration of HTTP requests sent to Talis, by endpoint, HTTP method, client call and route.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"endpoint", "method", "call", "route"})
)

// NoResponse is the code of an attempt that got no HTTP response, as in client-go.
const NoResponse = "<error>"

// ObserveCall is a talis.Options.Observer that feeds the call metrics.
func ObserveCall(ci talis.CallInfo) {
	ep := endpoints.label(ci.Endpoint)
	code := NoResponse
	if ci.StatusCode != 0 {
		code = strconv.Itoa(ci.StatusCode)
	}
	TalisCalls.WithLabelValues(ep, ci.HTTPMethod, code, ci.Method, ci.Route).Inc()
	TalisLatency.WithLabelValues(ep, ci.HTTPMethod, ci.Method, ci.Route).Observe(ci.Duration.Seconds())
}

// maxEndpoints bounds the endpoint label: tenants name their Talis URL, and with
// --allowed-talis-urls=* nothing else bounds how many there are.
const maxEndpoints = 16

// OtherEndpoint is the label of every endpoint past the first maxEndpoints.
const OtherEndpoint = "other"

var endpoints = &endpointLabels{seen: map[string]bool{}}

type endpointLabels struct {
	mu   sync.Mutex
	seen map[string]bool
}

// label is ep itself for the first maxEndpoints endpoints seen, OtherEndpoint after that.
func (e *endpointLabels) label(ep string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen[ep] {
		return ep
	}
	if len(e.seen) >= maxEndpoints {
		return OtherEndpoint
	}
	e.seen[ep] = true
	return ep
}
