package talis

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before attempt n+1 (n ≥ 1): exponential from
// InitialBackoff, capped at MaxBackoff, with "equal jitter" (half fixed,
// half random) so synchronized clients spread out without ever retrying
// immediately.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.InitialBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// retryDelay decides whether a failed attempt n of an idempotent call should
// be repeated and after how long. A Retry-After longer than MaxBackoff ends
// the call: the caller (typically a controller requeue) is better placed to
// wait that long than a blocked goroutine, and RetryAfter(err) tells it how
// long.
func (p RetryPolicy) retryDelay(err error, n int) (time.Duration, bool) {
	if n >= p.MaxAttempts || !IsRetryable(err) {
		return 0, false
	}
	if ra, ok := RetryAfter(err); ok {
		if ra > p.MaxBackoff {
			return 0, false
		}
		return ra, true
	}
	return p.backoff(n), true
}
