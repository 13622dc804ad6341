package reliability

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// recordingServer counts requests and the API keys they carried.
type recordingServer struct {
	mu   sync.Mutex
	hits int
	keys int
}

func (r *recordingServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.hits++
	if req.Header.Get("apikey") != "" || req.URL.Query().Get("apikey") != "" {
		r.keys++
	}
	r.mu.Unlock()
	w.WriteHeader(404)
}

func (r *recordingServer) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, r.keys
}

func quietTLSServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

// TestTalisTLSIsVerified runs the manager against an HTTPS Talis with a self-signed certificate:
// without --talis-ca-file every call fails with a certificate error that the user reads in the
// project's condition, and nothing reaches the server; with it the fleet converges. A Talis URL
// that redirects elsewhere must not make the manager send the API key to the other server.
func TestTalisTLSIsVerified(t *testing.T) {
	emu := emulator.New(emulator.Config{Seed: 5, Delays: emulator.Delays{Pickup: 50 * time.Millisecond, Create: 150 * time.Millisecond,
		Ready: 50 * time.Millisecond, Terminate: 100 * time.Millisecond}})
	t.Cleanup(func() { _ = emu.Close() })
	srv := quietTLSServer(emu)
	t.Cleanup(srv.Close)
	caFile := filepath.Join(cp.Dir, "talis-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(cp.Dir, "tls-key")
	key := secretKey("tls")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := cp.NewNamespace(ctx, "tls")
	if err != nil {
		t.Fatal(err)
	}
	projectCondition := func(name string, ok func(*metav1.Condition) bool) func() error {
		return func() error {
			var p infrav1.TalisProject
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
				return err
			}
			c := meta.FindStatusCondition(p.Status.Conditions, infrav1.ConditionReady)
			if c == nil || !ok(c) {
				return fmt.Errorf("Ready is %+v", c)
			}
			return nil
		}
	}

	// 1. No CA bundle: the certificate is refused and the user is told why.
	m := startManager(t, managerArgs(srv.URL, "--watch-namespaces", ns, "--talis-api-key-file", keyFile))
	if err := cp.Client.Create(ctx, harness.Project(ns, "p")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "certificate error reported", projectCondition("p", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && c.Reason == infrav1.ReasonTalisUnavailable && strings.Contains(c.Message, "x509: certificate signed by unknown authority")
	}))
	if st := emu.Stats(); len(st.Requests) != 0 {
		t.Errorf("requests reached Talis over an unverified connection: %v", st.Requests)
	}
	m.Stop()

	// 2. With the CA bundle: everything works.
	m = startManager(t, managerArgs(srv.URL, "--watch-namespaces", ns, "--talis-api-key-file", keyFile, "--talis-ca-file", caFile))
	harness.Eventually(t, 60*time.Second, "project ready over verified TLS", func() error { return harness.ProjectReady(ctx, cp.Client, ns, "p") })
	set := harness.Set(ns, "web", "p", 1)
	if err := cp.Client.Create(ctx, set); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "set ready over verified TLS", func() error {
		return harness.SetReady(ctx, cp.Client, harness.SetKey{Namespace: ns, Name: "web"}, 1)
	})
	for _, o := range []client.Object{set, harness.Project(ns, "p")} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 60*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
	m.Stop()

	// 3. A trusted Talis URL that redirects: the key must not follow the redirect.
	elsewhere := &recordingServer{}
	attacker := httptest.NewServer(elsewhere)
	t.Cleanup(attacker.Close)
	redirector := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, attacker.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	startManager(t, managerArgs(redirector.URL, "--watch-namespaces", ns, "--talis-api-key-file", keyFile, "--talis-ca-file", caFile))
	if err := cp.Client.Create(ctx, harness.Project(ns, "redirected")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "a Talis call failed", projectCondition("redirected", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && c.Reason == infrav1.ReasonTalisUnavailable
	}))
	if hits, keys := elsewhere.counts(); keys > 0 {
		t.Errorf("the API key followed a redirect to another server (%d requests, %d with the key)", hits, keys)
	}
	harness.Eventually(t, 30*time.Second, "the redirect is reported", projectCondition("redirected", func(c *metav1.Condition) bool {
		return strings.Contains(c.Message, "307")
	}))
	redirected := harness.Project(ns, "redirected")
	if err := cp.Client.Delete(ctx, redirected); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "a project never created in Talis is deleted at once", func() error {
		return harness.Gone(ctx, cp.Client, redirected)
	})
}
