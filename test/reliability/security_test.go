package reliability

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
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

// TestRBACIsLeastPrivilege pins the generated ClusterRole (config/rbac/role.yaml) to what the
// reconcilers need. The other tests run the manager as a user holding only these roles, which
// shows they are also enough.
func TestRBACIsLeastPrivilege(t *testing.T) {
	var role rbacv1.ClusterRole
	if err := cp.ReadRBAC("role.yaml", &role); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/namespaces":                             {"get"}, // kube-system only, for the default --cluster-id
		"events.k8s.io/events":                    {"create", "patch"},
		"infra.talis.io/talisprojects":            {"get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisinstancesets":        {"get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisprojects/status":     {"get", "patch", "update"},
		"infra.talis.io/talisinstancesets/status": {"get", "patch", "update"},
		"infra.talis.io/talisprojects/finalizers": {"update"},
		// Fleet outputs: the set's own ConfigMap is created and kept up to date, never deleted
		// (garbage collection does that through its owner reference).
		"/configmaps": {"create", "get", "list", "patch", "update", "watch"},
		"infra.talis.io/talisinstancesets/finalizers": {"update"},
	}
	got := map[string][]string{}
	for i, r := range role.Rules {
		for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			if slices.ContainsFunc(field, func(s string) bool { return strings.Contains(s, "*") }) {
				t.Errorf("rule %d has a wildcard: %+v", i, r)
			}
		}
		if len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %d grants non-resource URLs: %+v", i, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				k := g + "/" + res
				got[k] = append(got[k], r.Verbs...)
			}
		}
	}
	for k, verbs := range got {
		slices.Sort(verbs)
		got[k] = slices.Compact(verbs)
		if k == "/secrets" {
			for _, v := range verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("secrets: verb %q; the manager may only read Secrets", v)
				}
			}
		}
		for _, v := range verbs {
			if slices.Contains([]string{"delete", "deletecollection", "escalate", "bind", "impersonate", "approve", "sign"}, v) {
				t.Errorf("%s: verb %q is never needed", k, v)
			}
		}
		if w, ok := want[k]; !ok {
			t.Errorf("%s %v is granted but not needed (update this test if a reconciler now needs it)", k, verbs)
		} else if !slices.Equal(w, got[k]) {
			t.Errorf("%s: verbs %v, want %v", k, got[k], w)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s is not granted", k)
		}
	}

	var secrets rbacv1.ClusterRole
	if err := cp.ReadRBAC("secret_reader_role.yaml", &secrets); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Rules) != 1 || !slices.Equal(secrets.Rules[0].Resources, []string{"secrets"}) || !slices.Equal(secrets.Rules[0].Verbs, []string{"get", "list", "watch"}) {
		t.Errorf("the secret reader role grants other than get, list and watch on secrets: %+v", secrets.Rules)
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, "namespaces") && !slices.Equal(r.ResourceNames, []string{"kube-system"}) {
			t.Errorf("namespaces are readable beyond kube-system: %+v", r)
		}
	}

	var le rbacv1.Role
	if err := cp.ReadRBAC("leader_election_role.yaml", &le); err != nil {
		t.Fatal(err)
	}
	if le.Kind != "Role" {
		t.Errorf("leader election must be a namespaced Role, is %s", le.Kind)
	}
	for _, r := range le.Rules {
		for _, res := range r.Resources {
			if res != "leases" && res != "events" {
				t.Errorf("leader election role grants %s", res)
			}
		}
	}
	var auth rbacv1.ClusterRole
	if err := cp.ReadRBAC("metrics_auth_role.yaml", &auth); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Rules {
		if !slices.Equal(r.Verbs, []string{"create"}) || len(r.Resources) != 1 || (r.Resources[0] != "tokenreviews" && r.Resources[0] != "subjectaccessreviews") {
			t.Errorf("metrics auth role grants more than token and access reviews: %+v", r)
		}
	}
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

// scrapeMetrics checks that the HTTPS metrics endpoint refuses anonymous and unauthorized
// callers and returns the metrics to a service account bound to metrics-reader.
func scrapeMetrics(t *testing.T, ns, addr, wantMetric string) string {
	t.Helper()
	var reader rbacv1.ClusterRole
	if err := cp.ReadRBAC("metrics_reader_role.yaml", &reader); err != nil {
		t.Fatal(err)
	}
	reader.Name, reader.Labels = "metrics-reader-"+ns, nil
	for _, o := range []client.Object{&reader,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stranger"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader-" + ns},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "prometheus"}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name}},
	} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	token := func(sa string) string {
		tr, err := cp.Clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the manager's self-signed serving cert
	get := func(scheme, bearer string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, scheme+"://"+addr+"/metrics", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	expect := func(what, scheme, bearer string, codes ...int) string {
		t.Helper()
		var body string
		harness.Eventually(t, 60*time.Second, what, func() error {
			code, b, err := get(scheme, bearer)
			if err != nil {
				return err
			}
			if !slices.Contains(codes, code) {
				return fmt.Errorf("status %d, want %v: %.200s", code, codes, b)
			}
			body = b
			return nil
		})
		return body
	}
	expect("anonymous request refused", "https", "", 401, 403)
	if body := expect("invalid token refused", "https", "not-a-token", 401); strings.Contains(body, "talis_operator") {
		t.Errorf("metrics served to an invalid token")
	}
	expect("token without metrics-reader refused", "https", token("stranger"), 403)
	if code, _, err := get("http", ""); err == nil && code == 200 {
		t.Errorf("metrics served over plain HTTP")
	}
	body := expect("metrics-reader allowed", "https", token("prometheus"), 200)
	if !strings.Contains(body, wantMetric) {
		t.Errorf("metrics lack %s:\n%.2000s", wantMetric, body)
	}
	return body
}

// TestMetricsRequireAuthentication starts a manager with its default, secure metrics and checks
// who may read them.
func TestMetricsRequireAuthentication(t *testing.T) {
	_, talisURL := fastTalis(t)
	addr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cp.NewNamespace(ctx, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(talisURL, "--watch-namespaces", ns, "--metrics-bind-address", addr))
	scrapeMetrics(t, ns, addr, "controller_runtime_reconcile_total")
}

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
