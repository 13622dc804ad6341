package talisconn

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// TestRotatedKeysArePruned: each rotation of a project's key makes a client for the new
// endpoint+key; the old ones are dropped once nothing uses them.
func TestRotatedKeysArePruned(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "own", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte("key-0")}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret).Build()
	r := NewRegistry(Defaults{URL: "https://talis.example", AllowedURLs: []string{"*"}}, reader)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	ctx := context.Background()
	p := project("https://tenant.example", &infrav1.SecretKeyReference{Name: "own"})

	var keys []string
	for i, k := range []string{"key-0", "key-1", "key-2", "key-3"} {
		secret.Data["apiKey"] = []byte(k)
		if err := reader.Update(ctx, secret); err != nil {
			t.Fatal(err)
		}
		c, err := r.ForProject(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c.Key)
		if r.Len() != i+1 {
			t.Fatalf("%d clients after %d keys", r.Len(), i+1)
		}
		now = now.Add(time.Minute)
	}
	// Only the current key is in use: an explicit prune keeps it alone.
	current := keys[len(keys)-1]
	if n := r.Prune(func(key string) bool { return key == current }); n != 3 || r.Len() != 1 {
		t.Fatalf("Prune dropped %d, kept %d; want 3 and 1", n, r.Len())
	}
	// An idle prune drops it too once no reconcile has asked for it for longer than idle.
	now = now.Add(20 * time.Minute)
	if n := r.PruneIdle(30 * time.Minute); n != 0 {
		t.Fatalf("PruneIdle dropped a client used %s ago", 21*time.Minute)
	}
	now = now.Add(10 * time.Minute)
	if n := r.PruneIdle(30 * time.Minute); n != 1 || r.Len() != 0 {
		t.Fatalf("PruneIdle dropped %d, kept %d", n, r.Len())
	}
	// The project, asking again, gets a working client back.
	c, err := r.ForProject(ctx, p)
	if err != nil || c.Key != current || r.Len() != 1 {
		t.Fatalf("after pruning: %v, key %s, %d clients", err, c.Key, r.Len())
	}
}
