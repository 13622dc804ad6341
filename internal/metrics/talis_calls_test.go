package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

func talisClient(t *testing.T, url string) *talis.APIClient {
	t.Helper()
	o := talis.DefaultOptions()
	o.BaseURL, o.Observer = url, ObserveCall
	o.Retry.MaxAttempts = 1
	c, err := talis.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTalisCallsAreLabelledLikeClientGo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	// The path a tenant writes may carry anything; the label keeps scheme and host only.
	upper := strings.Replace(srv.URL, "http://", "HTTP://", 1)
	_, _ = talisClient(t, upper+"/gateway/tenant-a").CreateInstance(context.Background(), []talis.InstanceRequest{{OwnerID: 1, ProjectName: "p"}})

	if got := testutil.ToFloat64(TalisCalls.WithLabelValues(srv.URL, "POST", "503", "CreateInstance", "POST /api/v1/instances")); got != 1 {
		t.Errorf("503 create: %v requests, want 1; have:\n%s", got, dump(t))
	}
	if n := testutil.CollectAndCount(TalisLatency); n == 0 {
		t.Error("no latency series")
	}
}

func TestTalisCallWithoutResponseHasErrorCode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // connection refused: no response
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = talisClient(t, url).ScanInstances(ctx, nil, func(*talis.Instance) error { return nil })

	if got := testutil.ToFloat64(TalisCalls.WithLabelValues(url, "GET", NoResponse, "ScanInstances", "GET /api/v1/instances")); got != 1 {
		t.Errorf("refused scan: %v requests with code %q, want 1; have:\n%s", got, NoResponse, dump(t))
	}
	if got := testutil.ToFloat64(TalisCalls.WithLabelValues(url, "GET", "0", "ScanInstances", "GET /api/v1/instances")); got != 0 {
		t.Errorf(`code "0" was used: %v`, got)
	}
}

func TestEndpointLabelIsBounded(t *testing.T) {
	e := &endpointLabels{seen: map[string]bool{}}
	for i := range maxEndpoints {
		if got, ep := e.label(fmt.Sprintf("https://t%d.example", i)), fmt.Sprintf("https://t%d.example", i); got != ep {
			t.Fatalf("endpoint %d labelled %q", i, got)
		}
	}
	if got := e.label("https://one-too-many.example"); got != OtherEndpoint {
		t.Errorf("endpoint past the bound labelled %q, want %q", got, OtherEndpoint)
	}
	if got := e.label("https://t0.example"); got != "https://t0.example" {
		t.Errorf("a known endpoint lost its label: %q", got)
	}
}

// dump lists the request series, for failure messages.
func dump(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(TalisCalls)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				fmt.Fprintf(&b, "%s=%q ", lp.GetName(), lp.GetValue())
			}
			fmt.Fprintf(&b, "%v\n", m.GetCounter().GetValue())
		}
	}
	return b.String()
}
