package talis

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

func asAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

func (e *APIError) text() string { return strings.ToLower(e.Message + "\n" + e.Detail) }

// isRouteMiss spots a 404 that means "no such URL" (wrong BaseURL or
// PathPrefix) rather than "no such resource": a caller must not conclude
// that something was deleted because it is talking to the wrong place.
func (e *APIError) isRouteMiss() bool {
	if e.StatusCode != http.StatusNotFound || e.shape == shapeRPC {
		return false
	}
	return strings.HasPrefix(e.Message, "Cannot ") || strings.Contains(e.text(), "no route matched")
}

// IsNotFound reports a missing resource. Besides RPC 404s this covers the
// server's 500s that wrap GORM's "record not found" (GetInstance of a missing
// id, project.listInstances / task.list / instance create and delete with an
// unknown project) and sshkey.delete's 500 "... not found for owner ...".
// A 404 for an unknown route is not a missing resource.
func IsNotFound(err error) bool {
	e, ok := asAPIError(err)
	if !ok {
		return false
	}
	switch e.StatusCode {
	case http.StatusNotFound:
		return !e.isRouteMiss()
	case http.StatusInternalServerError:
		t := e.text()
		return strings.Contains(t, "record not found") || strings.Contains(t, " not found for owner ")
	}
	return false
}

// IsAlreadyExists reports a duplicate project, user or SSH key, whichever
// database produced it: SQLite gives a 400 "Project already exists",
// PostgreSQL a 500 with "duplicate key ... (SQLSTATE 23505)"; users give a
// 500 "username already exists" or a UNIQUE constraint failure.
func IsAlreadyExists(err error) bool {
	e, ok := asAPIError(err)
	if !ok {
		return false
	}
	switch e.StatusCode {
	case http.StatusConflict:
		return true
	case http.StatusBadRequest, http.StatusInternalServerError:
		t := e.text()
		for _, marker := range []string{"already exists", "duplicate key", "unique constraint", "sqlstate 23505"} {
			if strings.Contains(t, marker) {
				return true
			}
		}
	}
	return false
}

// IsInvalid reports a request rejected by validation (400/422), or one the
// client refused to send. Duplicates and unimplemented methods, also 400s on
// the wire, are excluded.
func IsInvalid(err error) bool {
	var ia *invalidArgError
	if errors.As(err, &ia) {
		return true
	}
	e, ok := asAPIError(err)
	if !ok || e.unsupported || IsAlreadyExists(err) {
		return false
	}
	return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
}

// IsUnauthorized reports a 401/403, which only the gateway produces.
func IsUnauthorized(err error) bool {
	e, ok := asAPIError(err)
	return ok && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// IsRetryable reports whether repeating the same call may succeed: 408, 429,
// 5xx other than not-found/already-exists/unimplemented, timeouts and
// network errors. It says nothing about whether repeating is safe; for
// non-idempotent calls check IsAmbiguous first.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := asAPIError(err); ok {
		switch {
		case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests:
			return true
		case e.StatusCode == http.StatusNotImplemented, e.StatusCode == http.StatusHTTPVersionNotSupported:
			return false
		case e.StatusCode >= 500:
			return !IsNotFound(err) && !IsAlreadyExists(err)
		}
		return false
	}
	var re *requestError
	if errors.As(err, &re) {
		return !re.decode && !re.limiter && !errors.Is(err, context.Canceled)
	}
	return false
}

// RetryAfter returns the delay a 429 (or 503) asked for in Retry-After.
func RetryAfter(err error) (time.Duration, bool) {
	e, ok := asAPIError(err)
	if !ok || !e.hasRetryAfter {
		return 0, false
	}
	return e.retryAfter, true
}

// IsAmbiguous reports whether a failed call may nevertheless have been
// applied by the server. It matters for CreateInstance, which has no
// idempotency token: after an ambiguous failure the caller must look for the
// instances (e.g. by a unique name via project.listInstances) before trying
// again, or it may create duplicates. It returns:
//
//   - false for nil, for arguments the client refused, and when the request
//     was provably never delivered: connection refused, DNS or TLS failure,
//     rate-limiter wait, a body whose write failed part way (the server parses
//     a complete body before acting). This is known from httptrace events:
//     no connection obtained, or the request write returned an error.
//   - false for 3xx and 4xx: redirects are not followed, and validation,
//     body parsing, routing and gateway auth or rate limiting all reject
//     before any write.
//   - false for the 500s the server produces before writing anything: the
//     project lookup ("failed to get project: record not found", also
//     returned when the owner does not own the project) and the owner
//     mismatch check; and for not-found / already-exists answers in general.
//   - true for every other 5xx: "failed to add tasks to database" leaves the
//     instance rows behind, a failed commit may have committed, and a
//     gateway's 502/503/504 does not say whether the upstream got the call.
//   - true when the request may have been fully written but no response was
//     read (timeout, connection reset, EOF), when the connection was obtained
//     but the outcome of the write is unknown, and when a 2xx arrived with an
//     unreadable body (the call was applied; its result is lost).
//   - true for errors this package did not produce, since nothing is known.
func IsAmbiguous(err error) bool {
	if err == nil {
		return false
	}
	var ia *invalidArgError
	if errors.As(err, &ia) || errors.Is(err, ErrDeadlinePassed) {
		return false
	}
	var re *requestError
	if errors.As(err, &re) {
		return re.phase != notSent
	}
	e, ok := asAPIError(err)
	if !ok {
		return true
	}
	switch {
	case e.unsupported:
		return false
	case e.StatusCode >= 300 && e.StatusCode < 500:
		return false
	case e.StatusCode >= 500:
		if IsNotFound(err) || IsAlreadyExists(err) {
			return false
		}
		// Only CreateInstance's slug errors are known to precede any write.
		m := strings.ToLower(e.Message)
		return e.shape != shapeSlug || (!strings.HasPrefix(m, "failed to get project") &&
			!strings.Contains(m, "instance owner_id does not match project owner_id"))
	}
	// A 2xx carrying an error: an RPC success:false is a definite refusal;
	// anything else (a slug other than success) leaves the state unclear.
	return e.shape != shapeRPC
}
