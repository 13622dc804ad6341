package contract

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// TestPathPrefix: the gateway serves /talis/api/v1/...; the client's
// PathPrefix (or a path in BaseURL) applies to every route.
func TestPathPrefix(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	e := newEnv(t, emulator.Config{PathPrefix: "/talis"}, func(o *talis.Options) {
		o.PathPrefix = "/talis"
		o.Observer = log.observe
	})
	ctx := e.ctx
	viaBaseURL := e.newClient(func(o *talis.Options) { o.BaseURL = e.url + "/talis/" })
	for _, c := range []*talis.APIClient{e.c, viaBaseURL} {
		ex := e.capture(func() {
			must(c.HealthCheck(ctx))(t)
			must(c.ListProjects(ctx, talis.ProjectListParams{OwnerID: 7}))(t)
			must(c.GetInstances(ctx, &talis.ListOptions{Limit: 5}))(t)
			must(c.ListTasksByInstanceID(ctx, admin, 1, "", nil))(t)
		})
		want := []string{"/talis/health", "/talis/api/v1", "/talis/api/v1/instances", "/talis/api/v1/instances/1/tasks"}
		if len(ex) != len(want) {
			t.Fatalf("attempts %v", summarize(ex))
		}
		for i, x := range ex {
			if x.Path != want[i] {
				t.Errorf("path %q, want %q", x.Path, want[i])
			}
		}
	}
	e.mkProject(t, "pre", admin)
	ids := idsOf(must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("pre", admin, "do-mock", "", 1)}))(t))
	e.waitStatus(t, ids, talis.InstanceStatusReady)
	for route := range e.srv.Stats().Requests {
		if strings.Contains(route, "unmatched") {
			t.Errorf("emulator saw an unmatched route: %s", route)
		}
	}
	// CallInfo routes carry no prefix.
	for _, ci := range log.take() {
		if strings.Contains(ci.Route, "/talis") || ci.StatusCode/100 != 2 {
			t.Errorf("CallInfo %+v", ci)
		}
	}
}

// TestTLS: the emulator behind TLS, with a custom HTTPClient trusting it.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := emulator.New(emulator.Config{Delays: fastDelays, Seed: 1})
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below
	ts.StartTLS()
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	wire := &wireLog{}
	c, err := talis.NewClient(&talis.Options{
		BaseURL:    ts.URL,
		HTTPClient: &http.Client{Transport: &recordingTransport{next: ts.Client().Transport, log: wire}},
		Observer:   observe,
	})
	noErr(t, err)
	must(c.HealthCheck(ctx))(t)
	must(c.CreateProject(ctx, talis.ProjectCreateParams{Name: "tls", OwnerID: 7}))(t)
	if ex := wire.since(0); len(ex) != 2 || ex[1].Status != 200 {
		t.Errorf("TLS attempts %v", summarize(ex))
	}
	u, _ := url.Parse(ts.URL)
	if u.Scheme != "https" {
		t.Fatalf("not TLS: %s", ts.URL)
	}

	// Without the server's CA: a TLS failure, never sent, so unambiguous.
	plain, err := talis.NewClient(&talis.Options{BaseURL: ts.URL, Retry: talis.RetryPolicy{MaxAttempts: 1}})
	noErr(t, err)
	_, err = plain.CreateInstance(ctx, []talis.InstanceRequest{instReq("tls", 7, "do-mock", "", 1)})
	if err == nil || talis.IsAmbiguous(err) {
		t.Errorf("untrusted TLS create: %v IsAmbiguous=%v", err, talis.IsAmbiguous(err))
	}
	if n := len(srv.Ledger()); n != 0 {
		t.Errorf("ledger holds %d instances", n)
	}
}
