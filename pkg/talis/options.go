package talis

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

const (
	// DefaultTimeout bounds a single HTTP attempt when Options.Timeout is zero.
	DefaultTimeout = 30 * time.Second

	// DefaultBaseURL is where a locally started server listens.
	DefaultBaseURL = "http://localhost:8080"

	// DefaultUserAgent is sent when Options.UserAgent is empty.
	DefaultUserAgent = "talis-operator/pkg-talis"

	// DefaultMaxListBytes bounds an instance list body when Options.MaxListBytes is zero. A
	// row of the emulator with three tags and one volume is 660 bytes; 50,000 such rows, the
	// most one unpaged list is planned for, with room for rows twice that long (more tags,
	// volumes) come to 50,000 × 660 × 2 = 63 MiB.
	DefaultMaxListBytes int64 = 64 << 20

	// DefaultMaxResponseBytes bounds every other 2xx body when Options.MaxResponseBytes is zero.
	// The largest the operator gets is a create answer for a batch of up to 500 instances
	// (500 × 660 B = 330 kB); an RPC page holds 50 rows (33 kB). 4 MiB leaves ten times that.
	DefaultMaxResponseBytes int64 = 4 << 20

	// AdminOwnerID is the owner id the server hard-wires into every task read
	// and task.terminate: tasks of any other owner are invisible through the API.
	AdminOwnerID uint = 4294967295
)

// Default retry policy, used for zero fields of Options.Retry.
const (
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = 250 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
)

// RetryPolicy controls retries of idempotent calls. Zero fields take the
// defaults above; MaxAttempts 1 disables retries.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt too.
	MaxAttempts int
	// InitialBackoff is the delay before the second attempt; it doubles per
	// attempt, with jitter, up to MaxBackoff.
	InitialBackoff time.Duration
	// MaxBackoff caps every wait, including a server's Retry-After: when the
	// server asks for longer, the call fails at once and RetryAfter(err)
	// reports the delay so the caller can reschedule instead of blocking.
	MaxBackoff time.Duration
}

// CallInfo describes one HTTP attempt, for metrics and tracing.
type CallInfo struct {
	// Method is the client method, e.g. "CreateInstance".
	Method string
	// HTTPMethod is the request's verb, e.g. "POST" (RPC calls are POSTs).
	HTTPMethod string
	// Endpoint is the server's scheme and host in lower case, e.g. "https://talis.example:8000":
	// no path, user info or query, so it is fit for a metric label.
	Endpoint string
	// Route is a low-cardinality route such as "POST /api/v1/instances",
	// "GET /api/v1/instances/{id}" or "RPC project.create" (no path prefix).
	Route string
	// StatusCode is 0 when no response was received.
	StatusCode int
	Duration   time.Duration
	// Attempt starts at 1.
	Attempt int
	// Err is the error of this attempt, nil on success.
	Err error
}

// Options configures a client. The zero value of every field means "default".
type Options struct {
	// BaseURL is scheme and host, optionally with a path that is kept as a
	// prefix (e.g. "http://kong:8000/talis").
	BaseURL string
	// APIKey is sent as the `apikey` header (Kong key-auth). It is never
	// printed by String/GoString/LogValue.
	APIKey string
	// Timeout bounds each HTTP attempt; the context bounds the whole call.
	Timeout time.Duration

	// PathPrefix is appended to BaseURL's path, e.g. "/talis" for the
	// gateway; it applies to every route, /health included.
	PathPrefix string
	// HTTPClient is used as is (custom TLS, proxies, ...). Its own Timeout, if
	// any, applies on top of Timeout. The default client refuses redirects;
	// a custom one that follows them would send the apikey header along.
	HTTPClient *http.Client
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// Retry applies to idempotent calls only.
	Retry RetryPolicy
	// RateLimit is the steady request rate in requests per second over all
	// attempts of this client; 0 means unlimited.
	RateLimit float64
	// Burst is the limiter's bucket size; values < 1 mean max(1, ceil(RateLimit)).
	Burst int
	// Observer, if set, is called synchronously once per HTTP attempt.
	Observer func(CallInfo)
	// HoldOnRetryAfter makes the Retry-After of a 429 or 503 hold back every call of this
	// client until it expires, not only the retry of the call that got it: the answer concerns
	// the caller, and a client shared by many callers would otherwise go on calling. A call
	// made meanwhile is not sent (nor observed, nor rate limited); it fails at once with a 429
	// *APIError whose RetryAfter is the remaining wait (retryable, not ambiguous). Retry-After
	// is capped at MaxRetryAfter.
	HoldOnRetryAfter bool
	// MaxListBytes bounds the body of the instance list routes (GetInstances and its
	// variants, GetInstancesPublicIPs, ScanInstances); DefaultMaxListBytes if zero. A longer
	// body fails the call with an error matching ErrResponseTooLarge, not retried.
	// ScanInstances never holds the body: what a scan costs is the rows its callback keeps plus
	// one row, and one row (any single JSON value of the list) is refused beyond MaxRowBytes.
	MaxListBytes int64
	// MaxResponseBytes bounds every other 2xx body, which is read whole before it is decoded;
	// DefaultMaxResponseBytes if zero. Error bodies are read up to 64 KiB and cut there.
	MaxResponseBytes int64
}

// DefaultOptions returns options for a local server without authentication.
func DefaultOptions() *Options {
	return &Options{
		BaseURL: DefaultBaseURL,
		Timeout: DefaultTimeout,
		Retry: RetryPolicy{
			MaxAttempts:    DefaultMaxAttempts,
			InitialBackoff: DefaultInitialBackoff,
			MaxBackoff:     DefaultMaxBackoff,
		},
	}
}

// String hides the API key so options can be logged safely.
func (o Options) String() string {
	return fmt.Sprintf("talis.Options{BaseURL:%q PathPrefix:%q APIKey:%s Timeout:%s Retry:%+v RateLimit:%g Burst:%d MaxListBytes:%d MaxResponseBytes:%d}",
		o.BaseURL, o.PathPrefix, redactedMark(o.APIKey), o.Timeout, o.Retry, o.RateLimit, o.Burst, o.MaxListBytes, o.MaxResponseBytes)
}

// GoString keeps %#v from printing the API key.
func (o Options) GoString() string { return o.String() }

// LogValue keeps slog from printing the API key.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

func redactedMark(key string) string {
	if key == "" {
		return "unset"
	}
	return "[REDACTED]"
}

// withDefaults fills zero fields and rejects nonsensical values.
func (o Options) withDefaults() (Options, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout < 0 {
		return o, errors.New("talis: Timeout must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	r := &o.Retry
	if r.MaxAttempts < 0 || r.InitialBackoff < 0 || r.MaxBackoff < 0 {
		return o, errors.New("talis: Retry fields must not be negative")
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.InitialBackoff == 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.MaxBackoff < r.InitialBackoff {
		r.MaxBackoff = r.InitialBackoff
	}
	if o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0) {
		return o, errors.New("talis: RateLimit must be a finite number >= 0")
	}
	if o.MaxListBytes < 0 || o.MaxResponseBytes < 0 {
		return o, errors.New("talis: MaxListBytes and MaxResponseBytes must not be negative")
	}
	if o.MaxListBytes == 0 {
		o.MaxListBytes = DefaultMaxListBytes
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.RateLimit > 0 && o.Burst < 1 {
		o.Burst = max(1, int(math.Ceil(o.RateLimit)))
	}
	return o, nil
}
