package talisconn

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfterGateHoldsEveryCaller(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	hc := withRetryAfterGate(nil)
	get := func() int {
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := time.Now()
	if code := get(); code != http.StatusTooManyRequests {
		t.Fatalf("first call: %d", code)
	}
	for get() == http.StatusTooManyRequests {
		time.Sleep(50 * time.Millisecond)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("called Talis again after %s, before its Retry-After of 1s", waited)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests reached the server, want 2 (the rest were held back)", n)
	}
}
