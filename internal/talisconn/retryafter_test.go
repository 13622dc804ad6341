package talisconn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// The registry's clients hold every caller of an endpoint back while a Retry-After lasts
// (pkg/talis's HoldOnRetryAfter): two projects at one URL share the client and its hold.
func TestRegistryClientsHoldOnRetryAfter(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	r := NewRegistry(Defaults{URL: srv.URL, APIKey: "manager-key", OwnerID: 9}, nil)
	ctx := context.Background()
	first, err := r.ForProject(ctx, project("", nil))
	if err != nil {
		t.Fatal(err)
	}
	call(t, first)
	other := project("", nil)
	other.Name, other.UID = "q", "u2"
	second, err := r.ForProject(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = second.Client.GetProject(ctx, talis.ProjectGetParams{Name: "y", OwnerID: 1})
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d requests reached Talis, want 1 (the second caller held back)", n)
	}
	if d, ok := talis.RetryAfter(err); !ok || d <= 0 || talis.IsAmbiguous(err) {
		t.Errorf("held call: %v (RetryAfter %v %v, ambiguous %v)", err, d, ok, talis.IsAmbiguous(err))
	}
}
