package talisconn

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// retryAfterGate keeps one Talis client from calling Talis while a Retry-After it was given is
// in force. The answer concerns the caller, not only the request that got it, and one client
// serves the reconcilers of every set and project on its endpoint: without the gate they all go
// on calling (each request's own retry waits, the others do not). While the gate is closed it
// answers locally with a 429 carrying the remaining wait, which the client and the reconcilers
// already handle (retry after Retry-After; a create that was not sent is not ambiguous).
type retryAfterGate struct {
	next http.RoundTripper

	mu    sync.Mutex
	until time.Time
}

// withRetryAfterGate wraps hc's transport (nil: a client like pkg/talis's default, which never
// follows redirects). Each call returns a new gate: one per Talis client.
func withRetryAfterGate(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	gated := *hc
	gated.Transport = &retryAfterGate{next: next}
	return &gated
}

func (g *retryAfterGate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.Lock()
	wait := time.Until(g.until)
	g.mu.Unlock()
	if wait > 0 {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		secs := strconv.Itoa(int(math.Ceil(wait.Seconds())))
		body := fmt.Sprintf(`{"message":"not sent: Talis asked to retry after %ss"}`, secs)
		return &http.Response{
			StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Retry-After": {secs}, "Content-Type": {"application/json"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req,
		}, nil
	}
	resp, err := g.next.RoundTrip(req)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			until := time.Now().Add(d)
			g.mu.Lock()
			if until.After(g.until) {
				g.until = until
			}
			g.mu.Unlock()
		}
	}
	return resp, err
}

// retryAfter reads delay-seconds or an HTTP date, capped at an hour.
func retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), 3600)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = min(time.Until(t), time.Hour)
	} else {
		return 0, false
	}
	return d, d > 0
}
