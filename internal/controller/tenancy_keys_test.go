package controller

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// recorder is a Talis stand-in on loopback that keeps the apikey header of every request.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newRecorder() *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.keys = append(r.keys, req.Header.Get("apikey"))
		r.mu.Unlock()
		http.Error(w, `{"error":"recorder"}`, http.StatusInternalServerError)
	}))
	DeferCleanup(r.Close)
	return r
}

func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

func projectReason(ns, name string) func(Gomega) string {
	return func(g Gomega) string {
		got := &infrav1.TalisProject{}
		g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, got)).To(Succeed())
		c := shared.FindCondition(got.Status.Conditions, infrav1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return c.Reason
	}
}

func withURL(p *infrav1.TalisProject, url string, secret *infrav1.SecretKeyReference) *infrav1.TalisProject {
	p.Spec.Connection = &infrav1.TalisConnection{URL: url, APIKeySecretRef: secret}
	return p
}

var _ = Describe("Credentials", func() {
	const defaultKey = "tk-manager-default-key"
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("never sends the manager's key or an unlabelled Secret to a URL a project names, even with every URL allowed", func() {
		rec := newRecorder()
		mgr := startManager(managerOptions{apiKey: defaultKey, allowedURLs: []string{"*"}})
		DeferCleanup(mgr.Stop)
		app := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"}, StringData: map[string]string{"password": "tk-app-password"}}
		own := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "tk-project-key"}}
		create(app, own,
			withURL(newProject(ns, "default-key"), rec.URL, nil),
			withURL(newProject(ns, "app-secret"), rec.URL, &infrav1.SecretKeyReference{Name: "app-db", Key: "password"}))
		Eventually(projectReason(ns, "default-key"), 20*time.Second).Should(Equal(infrav1.ReasonSecretRequired))
		Eventually(projectReason(ns, "app-secret"), 20*time.Second).Should(Equal(infrav1.ReasonSecretNotLabeled))
		Eventually(func() string { return joined(eventsFor(ns, "default-key")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring(infrav1.ReasonSecretRequired))
		Eventually(func() string { return joined(eventsFor(ns, "app-secret")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring(infrav1.ReasonSecretNotLabeled))
		Consistently(rec.received, 2*time.Second).Should(BeEmpty(), "nothing is sent for a refused project")

		// The project's own labelled key is the only one that reaches its URL.
		create(withURL(newProject(ns, "own-key"), rec.URL, &infrav1.SecretKeyReference{Name: "talis"}))
		Eventually(rec.received, 20*time.Second).ShouldNot(BeEmpty())
		Expect(rec.received()).To(HaveEach("tk-project-key"))
	})

	It("refuses URLs the admin has not allowed, and lets the manager's key follow no redirect", func() {
		rec := newRecorder()
		redirector := httptest.NewServer(http.RedirectHandler(rec.URL+"/api/v1", http.StatusTemporaryRedirect))
		DeferCleanup(redirector.Close)
		mgr := startManager(managerOptions{apiKey: defaultKey, url: redirector.URL})
		DeferCleanup(mgr.Stop)
		own := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "tk-project-key"}}
		create(own, withURL(newProject(ns, "elsewhere"), rec.URL, &infrav1.SecretKeyReference{Name: "talis"}), newProject(ns, "redirected"))
		Eventually(projectReason(ns, "elsewhere"), 20*time.Second).Should(Equal(infrav1.ReasonEndpointNotAllowed))
		Eventually(projectReason(ns, "redirected"), 20*time.Second).Should(Equal(infrav1.ReasonTalisUnavailable))
		Consistently(rec.received, 2*time.Second).Should(BeEmpty())
	})
})
