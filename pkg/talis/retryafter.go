package talis

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxRetryAfter caps every Retry-After the client reads, for RetryAfter(err) and for
// Options.HoldOnRetryAfter alike: a server asking for more (or a broken header) is asked again
// after an hour instead of silencing the caller for longer.
const MaxRetryAfter = time.Hour

// parseRetryAfter reads delay-seconds or an HTTP-date, capped at MaxRetryAfter. A date in the
// past means "now".
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Compared in seconds so that huge values cannot overflow time.Duration.
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// retryAfterHold is the state behind Options.HoldOnRetryAfter: until when the client sends
// nothing.
type retryAfterHold struct {
	mu    sync.Mutex
	until time.Time
}

// remaining is how long calls are still held back (≤ 0: not held).
func (h *retryAfterHold) remaining(now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.until.Sub(now)
}

// extend holds calls back for d from now, unless an earlier answer asked for longer.
func (h *retryAfterHold) extend(now time.Time, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if until := now.Add(d); until.After(h.until) {
		h.until = until
	}
}

// observe extends the hold by the Retry-After of a 429 or 503 answer.
func (h *retryAfterHold) observe(status int, header http.Header, now time.Time) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return
	}
	if d, ok := parseRetryAfter(header.Get("Retry-After"), now); ok && d > 0 {
		h.extend(now, d)
	}
}

// heldError is the answer to a call made while the hold lasts: a 429 that was never sent (so
// not ambiguous), retryable after the remaining wait rounded up to whole seconds, as a
// Retry-After header would say it.
func heldError(cl call, wait time.Duration) *APIError {
	secs := time.Duration(math.Ceil(wait.Seconds())) * time.Second
	return &APIError{StatusCode: http.StatusTooManyRequests, Method: cl.method, Route: cl.route, shape: shapeGateway,
		Message:    fmt.Sprintf("not sent: Talis asked to retry after %s", secs),
		retryAfter: secs, hasRetryAfter: true}
}
