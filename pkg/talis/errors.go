package talis

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrUnsupported matches (errors.Is) calls the server does not implement,
// such as UpdateTaskStatus. errors.ErrUnsupported matches them too.
var ErrUnsupported = errors.New("talis: not implemented by the server")

// APIError is any non-2xx answer, and any RPC answer with success:false.
type APIError struct {
	StatusCode int
	// Message is the server's (or gateway's) message, with the API key redacted.
	Message string
	// Detail is the RPC error data or the plain error's details, if any.
	Detail string
	// Method is the client method, e.g. "CreateProject".
	Method string
	// Route is the low-cardinality route, e.g. "RPC project.create".
	Route string
	// Slug is the slug envelope's slug ("invalid-input", ...), if any.
	Slug string

	shape         bodyShape
	retryAfter    time.Duration
	hasRetryAfter bool
	unsupported   bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "talis: %s: %d %s", e.Route, e.StatusCode, e.Message)
	if e.Detail != "" && e.Detail != e.Message {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	if e.unsupported {
		b.WriteString(": method not implemented by the server")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) hold for unimplemented methods.
func (e *APIError) Is(target error) bool {
	return e.unsupported && (target == ErrUnsupported || target == errors.ErrUnsupported)
}

// bodyShape records which error body shape was recognised.
type bodyShape int

const (
	shapeText bodyShape = iota
	shapeRPC
	shapeSlug
	shapePlain
	shapeGateway
)

// maxErrorText bounds Message and Detail so a large body (an HTML page, a
// stack dump) cannot bloat logs and conditions.
const maxErrorText = 1024

// phase says how far a failed request got; it decides IsAmbiguous.
type phase int

const (
	// notSent: the server cannot have acted (no connection, or the body was
	// never completely written).
	notSent phase = iota
	// maybeSent: the request may have been fully written; the outcome is unknown.
	maybeSent
	// responded: a 2xx status arrived but its body was unreadable, so the
	// request was applied and its result is lost.
	responded
)

// requestError is a failure without a usable HTTP error response.
type requestError struct {
	route string
	err   error
	phase phase
	// decode marks a malformed 2xx body, which retrying will not fix.
	decode bool
	// limiter marks a rate-limiter wait that could not fit in the context.
	limiter bool
	// streamed marks a failure while a body was being handed over row by row.
	streamed bool
}

func (e *requestError) Error() string {
	msg := e.err.Error()
	if ue, ok := e.err.(*url.Error); ok {
		// url.Error repeats method and URL; the route already says it.
		msg = ue.Err.Error()
	}
	if e.phase == responded {
		return fmt.Sprintf("talis: %s: request applied but response unreadable: %s", e.route, msg)
	}
	return fmt.Sprintf("talis: %s: %s", e.route, msg)
}

func (e *requestError) Unwrap() error { return e.err }

// invalidArgError is a request the client refuses to send.
type invalidArgError struct{ msg string }

func (e *invalidArgError) Error() string { return "talis: invalid argument: " + e.msg }

func invalidArgf(format string, args ...any) error {
	return &invalidArgError{msg: fmt.Sprintf(format, args...)}
}

// ErrResponseTooLarge matches (errors.Is) a call whose answer exceeded one of the client's
// size bounds (Options.MaxListBytes, Options.MaxResponseBytes, MaxRowBytes). Such an answer
// is not read further and the call is not retried: a repeat would get the same answer.
var ErrResponseTooLarge = errors.New("talis: response too large")

// TooLargeError says which bound an answer exceeded and where it came from.
type TooLargeError struct {
	// Endpoint is the client's base URL (never with credentials: the client refuses them).
	Endpoint string
	// What was too large, e.g. "response body".
	What string
	// Limit is the bound in bytes, and Bound its name.
	Limit int64
	Bound string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s from %s exceeds %s (%s): the endpoint does not answer like Talis, or the bound is too low",
		e.What, e.Endpoint, byteSize(e.Limit), e.Bound)
}

// Is makes errors.Is(err, ErrResponseTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrResponseTooLarge }

// byteSize prints a bound the way it was chosen, e.g. "64 MiB" or "1000 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
