package talis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DeadlineHeader carries the caller's deadline on every request that has one, so that a proxy or
// a log shows when the client stopped standing behind the request. Talis ignores it.
const DeadlineHeader = "X-Request-Deadline"

// ErrDeadlinePassed is returned when a call's deadline passed before its request was fully
// written: the server cannot act on an incomplete body, so nothing was applied.
var ErrDeadlinePassed = errors.New("talis: the request's deadline passed before it was sent")

// deadlineBody hands out a request body only while its deadline has not passed. Checking at
// the last read, rather than once before the call, keeps a process that stalls between the check
// and the write (a paused leader, a slow rate limiter) from sending a non-idempotent request late.
type deadlineBody struct {
	r        *bytes.Reader
	deadline time.Time
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !time.Now().Before(b.deadline) {
		return 0, ErrDeadlinePassed
	}
	return b.r.Read(p)
}

// requestBody returns the body for payload; a non-idempotent call with a deadline gets one that
// refuses to be read after it.
func requestBody(payload []byte, deadline time.Time, guard bool) (io.Reader, int64) {
	if payload == nil {
		return http.NoBody, 0
	}
	if guard && !deadline.IsZero() {
		return &deadlineBody{r: bytes.NewReader(payload), deadline: deadline}, int64(len(payload))
	}
	return bytes.NewReader(payload), int64(len(payload))
}

// notSentBy names a call that never left because of its deadline (it passed, or the rate
// limiter's wait would outlast it) as ErrDeadlinePassed; a cancellation stays what it is.
func notSentBy(ctx context.Context, err error) error {
	if _, ok := ctx.Deadline(); !ok || errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrDeadlinePassed, err)
}
