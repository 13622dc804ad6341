package reliability

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

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
