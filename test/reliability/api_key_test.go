package reliability

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

func secretKey(kind string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tk-" + kind + "-" + hex.EncodeToString(b)
}

// echoingTalis answers instance lists with a 500 that echoes the request's API key while echo is
// on, as a misconfigured gateway or debug endpoint might.
type echoingTalis struct {
	*emulator.Server
	echo atomic.Bool
}

func (e *echoingTalis) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.echo.Load() && r.Method == http.MethodGet && r.URL.Path == "/api/v1/instances" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprintf(w, `{"error":"upstream refused apikey=%s","details":"headers: apikey: %s"}`, r.Header.Get("apikey"), r.Header.Get("apikey"))
		return
	}
	e.Server.ServeHTTP(w, r)
}

// TestAPIKeyNeverDisclosed runs create, scale, a gateway that echoes the key, a wrong key, the
// right key again and deletion with the manager logging at its most verbose level
// (--zap-log-level=10, development mode, stack traces from info up), then searches everything a
// user or log collector can read for the keys, plain and base64-encoded: the whole log, every
// event, every status written along the way, and the metrics.
func TestAPIKeyNeverDisclosed(t *testing.T) {
	defaultKey, projectKey, wrongKey := secretKey("default"), secretKey("project"), secretKey("wrong")
	emu := &echoingTalis{Server: emulator.New(emulator.Config{Seed: 3, APIKeys: []string{defaultKey, projectKey}, Delays: emulator.Delays{
		Pickup: 50 * time.Millisecond, Create: 150 * time.Millisecond, Ready: 50 * time.Millisecond, Terminate: 100 * time.Millisecond}})}
	t.Cleanup(func() { _ = emu.Server.Close() })
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	ns, err := cp.NewNamespace(ctx, "secrecy")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(cp.Dir, "default-key")
	if err := os.WriteFile(keyFile, []byte(defaultKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	m := startManager(t, managerArgs(srv.URL, "--watch-namespaces", ns, "--talis-api-key-file", keyFile, "--zap-log-level=10", "--zap-devel=true",
		"--zap-stacktrace-level=info", "--metrics-bind-address", metricsAddr, "--metrics-secure=true"))

	var seen strings.Builder // everything written to the apiserver, as JSON
	snapshot := func(step string) {
		var sets infrav1.TalisInstanceSetList
		var projects infrav1.TalisProjectList
		if err := cp.Client.List(ctx, &sets, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.List(ctx, &projects, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal([]any{step, sets, projects})
		seen.Write(b)
		seen.WriteByte('\n')
	}
	setReason := func(reason string) func() error {
		return func() error {
			var s infrav1.TalisInstanceSet
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &s); err != nil {
				return err
			}
			// A failed attempt shows in Synced; Ready keeps what was last observed.
			c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionSynced)
			if c == nil || c.Status != metav1.ConditionFalse {
				c = meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
			}
			if c == nil || c.Reason != reason {
				return fmt.Errorf("condition is %+v, want reason %s", c, reason)
			}
			snapshot(reason)
			return nil
		}
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}}, StringData: map[string]string{"apiKey": projectKey}}
	p := harness.Project(ns, "p")
	p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "talis"}}
	s := harness.Set(ns, "web", "p", 2)
	for _, o := range []client.Object{secret, p, s} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	web := harness.SetKey{Namespace: ns, Name: "web"}
	harness.Eventually(t, 90*time.Second, "2 ready", func() error { return harness.SetReady(ctx, cp.Client, web, 2) })
	snapshot("created")
	if err := harness.Patch(ctx, cp.Client, s, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To[int32](4) }); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 90*time.Second, "4 ready", func() error { return harness.SetReady(ctx, cp.Client, web, 4) })
	snapshot("scaled")

	scale := func(n int32) {
		if err := harness.Patch(ctx, cp.Client, s, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To(n) }); err != nil {
			t.Fatal(err)
		}
	}
	// A gateway echoes the key in its error; a scale makes the manager call it.
	emu.echo.Store(true)
	scale(5)
	harness.Eventually(t, 60*time.Second, "the echoed error is reported", setReason(infrav1.ReasonTalisUnavailable))
	emu.echo.Store(false)
	harness.Eventually(t, 60*time.Second, "recovered from the echo", func() error { return harness.SetReady(ctx, cp.Client, web, 5) })

	setKey := func(k string) {
		if err := harness.Patch(ctx, cp.Client, secret, func(s *corev1.Secret) { s.Data = map[string][]byte{"apiKey": []byte(k)} }); err != nil {
			t.Fatal(err)
		}
	}
	setKey(wrongKey)
	scale(3)
	harness.Eventually(t, 60*time.Second, "the wrong key is reported", setReason(infrav1.ReasonInvalidCredentials))
	setKey(projectKey)
	harness.Eventually(t, 60*time.Second, "recovered with the right key", func() error { return harness.SetReady(ctx, cp.Client, web, 3) })
	snapshot("fixed")

	for _, o := range []client.Object{s, p} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []client.Object{s, p} {
		harness.Eventually(t, 90*time.Second, "deleted", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
	if live := harness.LedgerByIdentity(emu.Ledger())[web.Identity()].LiveIDs(); len(live) != 0 {
		t.Errorf("instances left running: %v", live)
	}

	metrics := scrapeMetrics(t, ns, metricsAddr, "talis_operator_talis_requests_total")
	evs, err := harness.Events(ctx, cp.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	core, err := harness.CoreEvents(ctx, cp.Client, "")
	if err != nil {
		t.Fatal(err)
	}
	coreJSON, _ := json.Marshal(core)
	m.Stop() // flush the log
	logs := m.ReadLog()

	if !strings.Contains(harness.JoinEvents(evs), infrav1.ReasonInvalidCredentials) {
		t.Errorf("no event tells the user that the key is wrong:\n%s", harness.JoinEvents(evs))
	}
	if n := strings.Count(logs, "\n"); n < 200 || !strings.Contains(logs, "DEBUG") {
		t.Fatalf("the log has %d lines and no DEBUG entries: the manager did not log verbosely", n)
	}
	sources := map[string]string{"manager log": logs, "events": harness.JoinEvents(evs) + string(coreJSON),
		"status": seen.String(), "metrics": metrics}
	for name, k := range map[string]string{"default key": defaultKey, "project key": projectKey, "wrong key": wrongKey} {
		forms := []string{k, base64.StdEncoding.EncodeToString([]byte(k)), base64.RawURLEncoding.EncodeToString([]byte(k)), hex.EncodeToString([]byte(k))}
		for src, text := range sources {
			for _, f := range forms {
				if i := strings.Index(text, f); i >= 0 {
					t.Errorf("the %s appears in the %s: ...%s...", name, src, strings.ReplaceAll(text[max(0, i-200):i], "\n", " "))
				}
			}
		}
	}
	t.Logf("searched %d bytes of logs (%d lines), %d events, %d bytes of status and %d bytes of metrics for 3 keys in 4 encodings",
		len(logs), strings.Count(logs, "\n"), len(evs)+len(core), seen.Len(), len(metrics))
}
