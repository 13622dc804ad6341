package talis

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0":   0,
		"7":   7 * time.Second,
		" 2 ": 2 * time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		// One cap, whichever form the header takes.
		"3601":                MaxRetryAfter,
		"9223372036854775807": MaxRetryAfter,
		now.Add(48 * time.Hour).Format(http.TimeFormat): MaxRetryAfter,
	} {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("%q: got %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestRetryAfterOfAnAnswerIsCapped(t *testing.T) {
	srv := newRecorder(t, failThen(1, 429, `{"message":"API rate limit exceeded"}`, map[string]string{"Retry-After": "31536000"}, emptyList))
	c := newTestClient(t, srv.URL)
	_, err := c.GetInstances(ctxT(t), nil)
	if d, ok := RetryAfter(err); !ok || d != MaxRetryAfter {
		t.Errorf("RetryAfter = %v, %v, want the cap %v", d, ok, MaxRetryAfter)
	}
}

// holdingClient answers the first request with status and Retry-After, every later one with an
// empty list.
func holdingClient(t *testing.T, status int, retryAfter string, hold bool) (*APIClient, *recorder) {
	t.Helper()
	srv := newRecorder(t, failThen(1, status, `{"message":"slow down"}`, map[string]string{"Retry-After": retryAfter}, emptyList))
	c := newTestClient(t, srv.URL, func(o *Options) { o.HoldOnRetryAfter = hold })
	return c, srv
}

func TestHoldOnRetryAfterKeepsEveryCallerBack(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		c, srv := holdingClient(t, status, "3600", true)
		if _, err := c.GetInstances(ctxT(t), nil); err == nil {
			t.Fatalf("%d: first call succeeded", status)
		}
		// Another caller of the same client, on another route, is not sent while the hold lasts.
		_, err := c.GetProject(ctxT(t), ProjectGetParams{Name: "p", OwnerID: 1})
		if srv.count() != 1 {
			t.Fatalf("%d: %d requests reached the server, want 1 (the second was held back)", status, srv.count())
		}
		d, ok := RetryAfter(err)
		if !ok || d <= 59*time.Minute || d > time.Hour {
			t.Errorf("%d: held call's RetryAfter = %v, %v, want the remaining hour", status, d, ok)
		}
		if !IsRetryable(err) || IsAmbiguous(err) {
			t.Errorf("%d: held call: retryable %v, ambiguous %v; want retryable and not ambiguous (never sent)", status, IsRetryable(err), IsAmbiguous(err))
		}
		if !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "not sent") || !strings.Contains(err.Error(), "RPC project.get") {
			t.Errorf("%d: held call's error %q", status, err)
		}
	}
}

func TestWithoutHoldOnlyTheAnsweredCallWaits(t *testing.T) {
	c, srv := holdingClient(t, http.StatusTooManyRequests, "3600", false)
	_, _ = c.GetInstances(ctxT(t), nil)
	if _, err := c.GetInstances(ctxT(t), nil); err != nil || srv.count() != 2 {
		t.Fatalf("second call: %v after %d requests, want it sent and answered", err, srv.count())
	}
}

func TestHoldIgnoresOtherAnswers(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
	}{{http.StatusInternalServerError, "3600"}, {http.StatusTooManyRequests, "0"}, {http.StatusTooManyRequests, "soon"}} {
		c, srv := holdingClient(t, tc.status, tc.retryAfter, true)
		c.retry.MaxAttempts = 1
		_, _ = c.GetInstances(ctxT(t), nil)
		if _, err := c.GetInstances(ctxT(t), nil); err != nil || srv.count() != 2 {
			t.Errorf("%d with Retry-After %q: second call %v after %d requests, want it sent", tc.status, tc.retryAfter, err, srv.count())
		}
	}
}

func TestHoldEndsWhenItsRetryAfterExpires(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var h retryAfterHold
	h.observe(http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}, now)
	h.observe(http.StatusServiceUnavailable, http.Header{"Retry-After": {"1"}}, now) // a shorter one does not shorten it
	if got := h.remaining(now.Add(time.Second)); got != time.Second {
		t.Errorf("remaining after 1s = %v, want 1s", got)
	}
	if got := h.remaining(now.Add(2 * time.Second)); got > 0 {
		t.Errorf("remaining after 2s = %v, want none", got)
	}
}
