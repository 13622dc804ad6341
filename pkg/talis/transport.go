package talis

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"
)

// maxErrorBody bounds what is read of a non-2xx body: only its first maxErrorText bytes are
// kept, and its JSON shape is recognised from far less.
const maxErrorBody = 64 << 10

// call describes one client operation.
type call struct {
	method     string // client method name, for CallInfo and errors
	route      string // low-cardinality route
	httpMethod string
	path       string // escaped, relative to the root, e.g. "/api/v1/instances"
	query      url.Values
	body       any // JSON-encoded when non-nil
	idempotent bool
	rpc        bool
	// list marks the instance list routes, bounded by MaxListBytes instead of MaxResponseBytes.
	list bool
	// stream, when set, reads a 2xx body as it arrives instead of it being
	// buffered in response.body.
	stream func(io.Reader) error
}

// response is a 2xx answer.
type response struct {
	status int
	body   []byte
}

// do runs a call with rate limiting, per-attempt timeout, retries (for
// idempotent calls only) and observation. Non-2xx answers become *APIError.
func (c *APIClient) do(ctx context.Context, cl call) (*response, error) {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, &requestError{route: cl.route, err: err, phase: notSent}
		}
	}
	target := c.origin + c.root + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	maxAttempts := 1
	if cl.idempotent {
		maxAttempts = c.retry.MaxAttempts
	}
	policy := c.retry
	policy.MaxAttempts = maxAttempts
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, &requestError{route: cl.route, err: notSentBy(ctx, err), phase: notSent}
		}
		resp, err := c.holdOrAttempt(ctx, cl, target, payload, n)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil || isStreamed(err) {
			return nil, err
		}
		wait, again := policy.retryDelay(err, n)
		if !again {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, err // sleeping would only end in the deadline
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// holdOrAttempt answers locally while a Retry-After hold lasts; otherwise it waits for the
// rate limiter and makes the attempt.
func (c *APIClient) holdOrAttempt(ctx context.Context, cl call, target string, payload []byte, n int) (*response, error) {
	if c.hold != nil {
		if wait := c.hold.remaining(time.Now()); wait > 0 {
			return nil, heldError(cl, wait)
		}
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, &requestError{route: cl.route, err: notSentBy(ctx, err), phase: notSent, limiter: true}
		}
	}
	return c.attempt(ctx, cl, target, payload, n)
}

// attempt performs one HTTP exchange and reports it to the observer.
func (c *APIClient) attempt(ctx context.Context, cl call, target string, payload []byte, n int) (resp *response, err error) {
	start := time.Now()
	status := 0
	defer func() {
		if c.observer != nil {
			c.observer(CallInfo{Method: cl.method, HTTPMethod: cl.httpMethod, Endpoint: c.endpoint, Route: cl.route, StatusCode: status,
				Duration: time.Since(start), Attempt: n, Err: err})
		}
	}()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	tr := &sendTrace{}
	actx = httptrace.WithClientTrace(actx, tr.clientTrace())

	deadline, _ := ctx.Deadline()
	body, size := requestBody(payload, deadline, !cl.idempotent)
	req, err := http.NewRequestWithContext(actx, cl.httpMethod, target, body)
	if err != nil {
		return nil, &requestError{route: cl.route, err: err, phase: notSent}
	}
	req.ContentLength = size
	if !deadline.IsZero() {
		req.Header.Set(DeadlineHeader, deadline.UTC().Format(time.RFC3339Nano))
	}
	key := c.key()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if key != "" {
		req.Header.Set("apikey", key)
	}

	hresp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrDeadlinePassed) {
			return nil, &requestError{route: cl.route, err: ErrDeadlinePassed, phase: notSent}
		}
		return nil, &requestError{route: cl.route, err: err, phase: tr.phase(err)}
	}
	defer hresp.Body.Close()
	status = hresp.StatusCode
	if c.hold != nil {
		c.hold.observe(status, hresp.Header, time.Now())
	}
	ok := status >= 200 && status < 300
	if cl.stream != nil && ok {
		return c.streamBody(cl, hresp)
	}
	if !ok {
		// An error status is decisive even if its body was cut short or unreadable.
		data, _, _ := readBody(hresp.Body, hresp.ContentLength, maxErrorBody)
		return nil, newAPIError(status, hresp.Header, data, key, cl.method, cl.route, cl.rpc)
	}
	limit := c.bodyLimit(cl)
	data, over, rerr := readBody(hresp.Body, hresp.ContentLength, limit)
	if over {
		return nil, c.tooLarge(cl, limit)
	}
	if rerr != nil {
		return nil, &requestError{route: cl.route, err: rerr, phase: responded}
	}
	return &response{status: status, body: data}, nil
}

// bodyLimit is the most a 2xx body of cl may hold.
func (c *APIClient) bodyLimit(cl call) int64 {
	if cl.list {
		return c.maxList
	}
	return c.maxBody
}

// readBody reads r up to limit bytes; over reports a body longer than that, of which limit+1
// bytes were read. The buffer starts at the announced length (if any, and never above the
// limit) and doubles, so reading costs at most about twice the limit whatever is announced.
func readBody(r io.Reader, announced, limit int64) (data []byte, over bool, err error) {
	size := int64(4 << 10)
	if announced >= 0 {
		size = announced + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, true, nil
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf))+512, limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return buf, true, nil
		case errors.Is(rerr, io.EOF):
			return buf, false, nil
		case rerr != nil:
			return buf, false, rerr
		}
	}
}

// tooLarge is the error of a body over its bound: final (a repeat would get the same answer),
// naming the endpoint and the bound so that it reads well in a condition.
func (c *APIClient) tooLarge(cl call, limit int64) error {
	opt, what := "MaxResponseBytes", "response body"
	switch {
	case limit == MaxRowBytes:
		opt, what = "MaxRowBytes", "one row of the instance list"
	case cl.list:
		opt = "MaxListBytes"
	}
	return &requestError{route: cl.route, phase: responded, decode: true, streamed: cl.stream != nil,
		err: &TooLargeError{Endpoint: c.origin + c.root, What: what, Limit: limit, Bound: opt}}
}

// sendTrace records, from transport callbacks that may run on other
// goroutines, how far a request got before failing.
type sendTrace struct {
	getConn, gotConn, wrote, wroteErr atomic.Bool
}

func (t *sendTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { t.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { t.gotConn.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err != nil {
				t.wroteErr.Store(true)
			} else {
				t.wrote.Store(true)
			}
		},
	}
}

// phase classifies a transport error; see IsAmbiguous.
func (t *sendTrace) phase(err error) phase {
	switch {
	case t.wrote.Load():
		return maybeSent // the server may be processing it right now
	case t.wroteErr.Load():
		return notSent // incomplete body: the server never acts on it
	case t.gotConn.Load():
		return maybeSent // the write may still complete after we gave up
	case t.getConn.Load():
		return notSent // the standard transport never got a connection
	case isDialError(err):
		return notSent // a custom transport without trace events
	}
	return maybeSent
}

// isDialError recognises failures that happen before any byte is sent.
func isDialError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	return errors.As(err, &dnsErr) || errors.As(err, &certErr) || errors.As(err, &recErr) ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// streamBody hands a 2xx body to the call's stream decoder. Its errors are
// marked streamed: rows may already have been passed on, so they are final.
func (c *APIClient) streamBody(cl call, hresp *http.Response) (*response, error) {
	limit := c.bodyLimit(cl)
	r := &bodyReader{r: hresp.Body, limit: limit}
	err := cl.stream(r)
	switch {
	case r.n > limit:
		err = c.tooLarge(cl, limit)
	case errors.Is(err, errRowTooLong):
		err = c.tooLarge(cl, MaxRowBytes)
	case r.err != nil && !errors.Is(r.err, io.EOF):
		err = &requestError{route: cl.route, err: r.err, phase: responded, streamed: true}
	case err != nil:
		err = &requestError{route: cl.route, err: err, phase: responded, decode: true, streamed: true}
	}
	if err != nil {
		return nil, err
	}
	return &response{status: hresp.StatusCode}, nil
}

// bodyReader tells read failures (worth another call) from malformed JSON,
// and stops once more than limit bytes have come.
type bodyReader struct {
	r     io.Reader
	n     int64
	limit int64
	err   error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n > b.limit {
		return 0, errBodyTooLong
	}
	if room := b.limit + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && b.err == nil {
		b.err = err
	}
	if b.n > b.limit {
		return n, errBodyTooLong
	}
	return n, err
}

var errBodyTooLong = errors.New("response body too long")

func isStreamed(err error) bool {
	var re *requestError
	return errors.As(err, &re) && re.streamed
}
