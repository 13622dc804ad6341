package reliability

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// TestKeysStayWithTheirEndpoints runs the manager binary with every URL allowed (the admin's
// most open setting) and two TalisProjects pointing at a recording server on loopback: one
// relying on the manager's key, one naming an application's unlabelled Secret. Each is refused
// with a reason, and the recorder, Talis's side, receives nothing at all.
func TestKeysStayWithTheirEndpoints(t *testing.T) {
	_, talisURL := fastTalis(t)
	var mu sync.Mutex
	var got []string
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" apikey="+r.Header.Get("apikey"))
		mu.Unlock()
		http.Error(w, "recorder", http.StatusInternalServerError)
	}))
	t.Cleanup(rec.Close)
	ns, err := cp.NewNamespace(ctx, "tenancy")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(cp.Dir, "tenancy-key")
	if err := os.WriteFile(keyFile, []byte(secretKey("tenancy")), 0o600); err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(talisURL, "--watch-namespaces", ns, "--talis-api-key-file", keyFile, "--allowed-talis-urls", "*"))

	app := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"}, StringData: map[string]string{"password": secretKey("app")}}
	managerKey := harness.Project(ns, "manager-key")
	managerKey.Spec.Connection = &infrav1.TalisConnection{URL: rec.URL}
	appSecret := harness.Project(ns, "app-secret")
	appSecret.Spec.Connection = &infrav1.TalisConnection{URL: rec.URL, APIKeySecretRef: &infrav1.SecretKeyReference{Name: "app-db", Key: "password"}}
	for _, o := range []client.Object{app, managerKey, appSecret} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for name, reason := range map[string]string{"manager-key": infrav1.ReasonSecretRequired, "app-secret": infrav1.ReasonSecretNotLabeled} {
		harness.Eventually(t, 60*time.Second, name+" reports "+reason, func() error {
			var p infrav1.TalisProject
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
				return err
			}
			if c := meta.FindStatusCondition(p.Status.Conditions, infrav1.ConditionReady); c == nil || c.Reason != reason {
				return fmt.Errorf("Ready is %+v", c)
			}
			return nil
		})
	}
	time.Sleep(3 * time.Second) // a few more reconciles (--error-retry 2s)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the recorder on loopback received %d request(s): %v", len(got), got)
	}
}
