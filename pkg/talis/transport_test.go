package talis

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// failThen answers the first n requests with status/body/header, then ok.
func failThen(n, status int, body string, header map[string]string, ok string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, i int) {
		w.Header().Set("Content-Type", "application/json")
		if i <= n {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
		_, _ = io.WriteString(w, ok)
	}
}

const emptyList = `{"rows":[],"pagination":{"total":0,"page":1,"limit":100,"offset":0}}`

func TestRetriesIdempotentCalls(t *testing.T) {
	for _, status := range []int{503, 429, 502} {
		srv := newRecorder(t, failThen(2, status, `{"error":"busy"}`, nil, emptyList))
		c := newTestClient(t, srv.URL)
		if _, err := c.GetInstances(ctxT(t), nil); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if n := srv.count(); n != 3 {
			t.Errorf("%d: want 3 attempts, got %d", status, n)
		}
	}
}

func TestRetriesRPCReads(t *testing.T) {
	srv := newRecorder(t, failThen(1, 500, `{"error":{"code":500,"message":"Failed to get project","data":"conn reset"},"success":false}`,
		nil, rpcOK(string(mustRead("project.json")))))
	c := newTestClient(t, srv.URL)
	if _, err := c.GetProject(ctxT(t), ProjectGetParams{Name: "p", OwnerID: 1}); err != nil {
		t.Fatal(err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("want 2 attempts, got %d", n)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newRecorder(t, fixed(503, `{"error":"down"}`))
	c := newTestClient(t, srv.URL)
	_, err := c.GetInstances(ctxT(t), nil)
	if !IsRetryable(err) || srv.count() != 3 {
		t.Errorf("err=%v attempts=%d", err, srv.count())
	}
}

func TestNoRetryForNonIdempotentOrDefinitiveErrors(t *testing.T) {
	srv := newRecorder(t, fixed(503, `{"slug":"server-error","error":"failed to add tasks to database: x","data":null}`))
	c := newTestClient(t, srv.URL)
	_, err := c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if err == nil || srv.count() != 1 {
		t.Fatalf("CreateInstance: err=%v attempts=%d", err, srv.count())
	}
	if !IsAmbiguous(err) {
		t.Errorf("503 on create must be ambiguous: %v", err)
	}

	for name, call := range map[string]func(*APIClient) error{
		"project.create": func(c *APIClient) error {
			_, err := c.CreateProject(ctxT(t), ProjectCreateParams{Name: "p", OwnerID: 1})
			return err
		},
		"user.create": func(c *APIClient) error { _, err := c.CreateUser(ctxT(t), CreateUserParams{Username: "u"}); return err },
		"sshkey.create": func(c *APIClient) error {
			_, err := c.CreateSSHKey(ctxT(t), SSHKeyCreateParams{Name: "k", OwnerID: 1})
			return err
		},
	} {
		srv := newRecorder(t, fixed(500, `{"error":{"code":500,"message":"boom"},"success":false}`))
		if err := call(newTestClient(t, srv.URL)); err == nil || srv.count() != 1 {
			t.Errorf("%s: err=%v attempts=%d", name, err, srv.count())
		}
	}

	// A 4xx is definitive even for a read.
	srv = newRecorder(t, fixed(400, `{"slug":"invalid-input","error":"bad","data":null}`))
	if _, err := newTestClient(t, srv.URL).GetInstances(ctxT(t), nil); !IsInvalid(err) || srv.count() != 1 {
		t.Errorf("400: err=%v attempts=%d", err, srv.count())
	}
	// As is a not-found 500.
	srv = newRecorder(t, fixed(500, string(mustRead("plain_error_instance_not_found.json"))))
	if _, err := newTestClient(t, srv.URL).GetInstance(ctxT(t), "9"); !IsNotFound(err) || srv.count() != 1 {
		t.Errorf("not found: err=%v attempts=%d", err, srv.count())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := newRecorder(t, failThen(1, 429, `{"message":"API rate limit exceeded"}`, map[string]string{"Retry-After": "1"}, emptyList))
	c := newTestClient(t, srv.URL, func(o *Options) { o.Retry.MaxBackoff = 5 * time.Second })
	start := time.Now()
	if _, err := c.GetInstances(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, Retry-After said 1s", el)
	}
	if srv.count() != 2 {
		t.Errorf("attempts = %d", srv.count())
	}
}

func TestRetryAfterBeyondCapFailsFast(t *testing.T) {
	srv := newRecorder(t, failThen(5, 429, `{"message":"API rate limit exceeded"}`, map[string]string{"Retry-After": "30"}, emptyList))
	c := newTestClient(t, srv.URL)
	_, err := c.GetInstances(ctxT(t), nil)
	if d, ok := RetryAfter(err); !ok || d != 30*time.Second {
		t.Errorf("RetryAfter = %v, %v (err %v)", d, ok, err)
	}
	if srv.count() != 1 || !IsRetryable(err) {
		t.Errorf("attempts = %d, retryable = %v", srv.count(), IsRetryable(err))
	}
}

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n := 1; n < 10; n++ {
		d := p.backoff(n)
		if d < 50*time.Millisecond || d > time.Second {
			t.Errorf("backoff(%d) = %v out of bounds", n, d)
		}
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		_, _ = io.WriteString(w, emptyList)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	if _, err := c.GetInstances(ctxT(t), nil); err != nil {
		t.Fatalf("timed-out read should be retried: %v", err)
	}

	srv = newRecorder(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c = newTestClient(t, srv.URL, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	_, err := c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if !IsAmbiguous(err) || !IsRetryable(err) || srv.count() != 1 {
		t.Errorf("timed-out create: err=%v ambiguous=%v attempts=%d", err, IsAmbiguous(err), srv.count())
	}
}

func TestConnectionRefusedIsNotAmbiguous(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newTestClient(t, "http://"+addr, func(o *Options) { o.Retry.MaxAttempts = 1 })
	_, err = c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if err == nil || IsAmbiguous(err) || !IsRetryable(err) {
		t.Errorf("refused: err=%v ambiguous=%v retryable=%v", err, IsAmbiguous(err), IsRetryable(err))
	}
}

func TestConnectionDroppedAfterRequestIsAmbiguous(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := newTestClient(t, srv.URL)
	_, err := c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if err == nil || !IsAmbiguous(err) || srv.count() != 1 {
		t.Errorf("dropped: err=%v ambiguous=%v attempts=%d", err, IsAmbiguous(err), srv.count())
	}
}

func TestUnreadable2xxIsAmbiguous(t *testing.T) {
	srv := newRecorder(t, fixed(201, `{"slug":"success","data":[{"ID":"not a number"}]}`))
	_, err := newTestClient(t, srv.URL).CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if err == nil || !IsAmbiguous(err) || IsRetryable(err) {
		t.Errorf("err=%v ambiguous=%v", err, IsAmbiguous(err))
	}
	if !strings.Contains(err.Error(), "applied") {
		t.Errorf("message should say the request was applied: %v", err)
	}
}

func TestCanceledContextSendsNothing(t *testing.T) {
	srv := newRecorder(t, fixed(201, `{}`))
	ctx, cancel := contextWithCancel(t)
	cancel()
	_, err := newTestClient(t, srv.URL).CreateInstance(ctx, []InstanceRequest{{ProjectName: "p"}})
	if err == nil || IsAmbiguous(err) || IsRetryable(err) || srv.count() != 0 {
		t.Errorf("err=%v ambiguous=%v attempts=%d", err, IsAmbiguous(err), srv.count())
	}
}

func TestRateLimiter(t *testing.T) {
	srv := newRecorder(t, fixed(200, `{"status":"healthy"}`))
	c := newTestClient(t, srv.URL, func(o *Options) { o.RateLimit = 20; o.Burst = 1 })
	start := time.Now()
	for range 6 {
		if _, err := c.HealthCheck(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	// Five waits of 50ms each after the first token.
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("6 calls at 20/s took only %v", el)
	}
}

func TestObserver(t *testing.T) {
	var mu sync.Mutex
	var infos []CallInfo
	obs := func(ci CallInfo) { mu.Lock(); infos = append(infos, ci); mu.Unlock() }
	srv := newRecorder(t, failThen(1, 503, `{"error":"busy"}`, nil, emptyList))
	c := newTestClient(t, srv.URL, func(o *Options) { o.Observer = obs })
	if _, err := c.GetInstances(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	srv2 := newRecorder(t, fixed(400, string(mustRead("rpc_error_validation.json"))))
	c2 := newTestClient(t, srv2.URL, func(o *Options) { o.Observer = obs })
	_, _ = c2.CreateProject(ctxT(t), ProjectCreateParams{OwnerID: 1})

	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 3 {
		t.Fatalf("want 3 observations, got %+v", infos)
	}
	want := []CallInfo{
		{Method: "GetInstances", HTTPMethod: "GET", Endpoint: srv.URL, Route: "GET /api/v1/instances", StatusCode: 503, Attempt: 1},
		{Method: "GetInstances", HTTPMethod: "GET", Endpoint: srv.URL, Route: "GET /api/v1/instances", StatusCode: 200, Attempt: 2},
		{Method: "CreateProject", HTTPMethod: "POST", Endpoint: srv2.URL, Route: "RPC project.create", StatusCode: 400, Attempt: 1},
	}
	for i, w := range want {
		g := infos[i]
		if g.Method != w.Method || g.HTTPMethod != w.HTTPMethod || g.Endpoint != w.Endpoint || g.Route != w.Route ||
			g.StatusCode != w.StatusCode || g.Attempt != w.Attempt {
			t.Errorf("observation %d = %+v, want %+v", i, g, w)
		}
		if (g.StatusCode >= 400) != (g.Err != nil) || g.Duration <= 0 {
			t.Errorf("observation %d: err %v, duration %v", i, g.Err, g.Duration)
		}
	}
}

func TestPathPrefix(t *testing.T) {
	for _, tc := range []struct {
		base, prefix, want string
	}{
		{"", "/talis", "/talis/api/v1"},
		{"/talis/", "", "/talis/api/v1"},
		{"/gw", "talis/", "/gw/talis/api/v1"},
		{"/", "", "/api/v1"},
	} {
		srv := newRecorder(t, fixed(200, `{"success":true}`))
		c := newTestClient(t, srv.URL+tc.base, func(o *Options) { o.PathPrefix = tc.prefix })
		if err := c.DeleteProject(ctxT(t), ProjectDeleteParams{Name: "p", OwnerID: 1}); err != nil {
			t.Fatal(err)
		}
		if got := srv.requests()[0].Path; got != tc.want {
			t.Errorf("base %q prefix %q: path %q, want %q", tc.base, tc.prefix, got, tc.want)
		}
	}
}

func TestConcurrentSetAPIKey(t *testing.T) {
	srv := newRecorder(t, fixed(200, `{"status":"healthy"}`))
	c := newTestClient(t, srv.URL)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); c.SetAPIKey(strings.Repeat("k", i+1)) }()
		go func() {
			defer wg.Done()
			if _, err := c.HealthCheck(ctxT(t)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestCustomHTTPClientIsUsed(t *testing.T) {
	used := false
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return nil, errors.New("custom transport says no")
	})}
	c := newTestClient(t, "http://example.invalid", func(o *Options) { o.HTTPClient = hc; o.Retry.MaxAttempts = 1 })
	_, err := c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	if !used || err == nil {
		t.Fatalf("used=%v err=%v", used, err)
	}
	// No trace events and no dial error: nothing is known, so ambiguous.
	if !IsAmbiguous(err) {
		t.Errorf("want ambiguous for opaque transport error")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newRecorder(t, fixed(200, emptyList))
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	_, err := newTestClient(t, srv.URL).CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}})
	e, ok := asAPIError(err)
	if !ok || e.StatusCode != http.StatusFound || IsAmbiguous(err) {
		t.Errorf("want 302 APIError, got %v", err)
	}
	if other.count() != 0 {
		t.Error("redirect was followed, apikey sent to another host")
	}
}
