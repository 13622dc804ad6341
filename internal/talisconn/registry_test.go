package talisconn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// keyRecorder answers every request with 500 and keeps the apikey headers it was sent.
func keyRecorder(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("apikey"))
		mu.Unlock()
		http.Error(w, `{"error":"no"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), keys...) }
}

func project(url string, ref *infrav1.SecretKeyReference) *infrav1.TalisProject {
	return &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p", UID: "u1"},
		Spec: infrav1.TalisProjectSpec{Connection: &infrav1.TalisConnection{URL: url, APIKeySecretRef: ref}}}
}

func reasonOf(err error) string {
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

// call makes one Talis request with the connection, so that its key reaches the recorder.
func call(t *testing.T, c *Connection) {
	t.Helper()
	_, _ = c.Client.GetProject(context.Background(), talis.ProjectGetParams{Name: "x", OwnerID: 1})
}

func TestKeysOnlyGoWhereTheyBelong(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	labelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "own", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte("project-key")}}
	app := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app"}, Data: map[string][]byte{"apiKey": []byte("app-password")}}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "theirs", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte("their-key")}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(labelled, app, other).Build()
	mine, mineKeys := keyRecorder(t)
	foreign, foreignKeys := keyRecorder(t)
	r := NewRegistry(Defaults{URL: mine.URL, APIKey: "manager-key", OwnerID: 9, AllowedURLs: []string{"*"}}, reader)
	ctx := context.Background()

	for name, c := range map[string]struct {
		p      *infrav1.TalisProject
		reason string
	}{
		"manager's key to another URL": {project(foreign.URL, nil), infrav1.ReasonSecretRequired},
		"unlabelled Secret":            {project(foreign.URL, &infrav1.SecretKeyReference{Name: "app", Key: "apiKey"}), infrav1.ReasonSecretNotLabeled},
		"another namespace's Secret":   {project(foreign.URL, &infrav1.SecretKeyReference{Name: "theirs"}), infrav1.ReasonCredentialsUnavailable},
	} {
		_, err := r.ForProject(ctx, c.p)
		if reasonOf(err) != c.reason {
			t.Errorf("%s: got %v, want reason %s", name, err, c.reason)
		}
	}

	// A deleted project whose Secret is gone never falls back to the manager's key elsewhere.
	gone := project(foreign.URL, &infrav1.SecretKeyReference{Name: "deleted"})
	gone.DeletionTimestamp = &metav1.Time{}
	gone.Finalizers = []string{infrav1.Finalizer}
	if _, err := r.ForProject(ctx, gone); err == nil {
		t.Error("a deleted project at another URL got a connection without its Secret")
	}

	c, err := r.ForProject(ctx, project(foreign.URL, &infrav1.SecretKeyReference{Name: "own"}))
	if err != nil {
		t.Fatal(err)
	}
	call(t, c)
	c, err = r.ForProject(ctx, project("", nil))
	if err != nil {
		t.Fatal(err)
	}
	call(t, c)
	for _, k := range foreignKeys() {
		if k != "project-key" {
			t.Errorf("the foreign URL received key %q", k)
		}
	}
	for _, k := range mineKeys() {
		if k != "manager-key" {
			t.Errorf("the manager's URL received key %q", k)
		}
	}
	if len(foreignKeys()) == 0 || len(mineKeys()) == 0 {
		t.Errorf("requests: foreign %d, manager's %d; want some at each", len(foreignKeys()), len(mineKeys()))
	}
}

func TestAllowList(t *testing.T) {
	r := NewRegistry(Defaults{URL: "https://talis.example.com/talis/", AllowedURLs: []string{"https://B.example.com"}}, nil)
	for u, want := range map[string]bool{
		"https://talis.example.com/talis": true, "HTTPS://TALIS.example.com/talis/": true, "https://b.example.com/": true,
		"https://b.example.com/x": false, "http://b.example.com": false, "https://evil.example.com": false,
		"https://user:pw@b.example.com": false, "": false,
	} {
		if got := r.checkEndpoint(u) == nil; got != want {
			t.Errorf("%q allowed: %v, want %v", u, got, want)
		}
	}
}

func TestRecordedEndpointAndOwnerWin(t *testing.T) {
	r := NewRegistry(Defaults{URL: "http://new.example.com", OwnerID: 7, AllowedURLs: []string{"http://old.example.com"}}, nil)
	p := project("", nil)
	p.Status.Endpoint, p.Status.OwnerID = "http://old.example.com", 5
	c, err := r.ForProject(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if c.OwnerID != 5 || r.Endpoint(p) != "http://old.example.com" {
		t.Errorf("owner %d endpoint %s; want the recorded 5 and http://old.example.com", c.OwnerID, r.Endpoint(p))
	}
}

// A manager with its own key whose --talis-url changed: a project that followed the manager's URL
// says the endpoint changed (what happened and what to do), not SecretRequired or
// EndpointNotAllowed, and its key never goes to the old URL.
func TestManagerURLChangeIsEndpointChanged(t *testing.T) {
	old, keys := keyRecorder(t)
	for _, allowed := range [][]string{nil, {old.URL}} {
		r := NewRegistry(Defaults{URL: "http://new.example.com", APIKey: "manager-key", AllowedURLs: allowed}, nil)
		p := project("", nil)
		p.Status.Endpoint = old.URL
		_, err := r.ForProject(context.Background(), p)
		if reasonOf(err) != infrav1.ReasonEndpointChanged {
			t.Errorf("allowed %v: %v (%s), want %s", allowed, err, reasonOf(err), infrav1.ReasonEndpointChanged)
		}
	}
	// A project that names its own URL still needs its own key.
	r := NewRegistry(Defaults{URL: "http://new.example.com", APIKey: "manager-key", AllowedURLs: []string{old.URL}}, nil)
	if _, err := r.ForProject(context.Background(), project(old.URL, nil)); reasonOf(err) != infrav1.ReasonSecretRequired {
		t.Errorf("a project with its own URL and no Secret: %v, want %s", err, infrav1.ReasonSecretRequired)
	}
	if len(keys()) != 0 {
		t.Errorf("keys sent to the old URL: %v", keys())
	}
}
