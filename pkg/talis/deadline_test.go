package talis

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stallingTransport stands for a process that stalls after deciding to send (a paused leader):
// it waits past the caller's deadline, then tries to write the body.
type stallingTransport struct {
	stall time.Duration
	sent  bool
}

func (s *stallingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.stall)
	if _, err := io.ReadAll(r.Body); err != nil {
		return nil, err
	}
	s.sent = true
	return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(`{"slug":"success","data":[]}`)), Header: http.Header{}}, nil
}

func TestCreateIsNeverSentAfterItsDeadline(t *testing.T) {
	tr := &stallingTransport{stall: 150 * time.Millisecond}
	c := newTestClient(t, "http://talis.invalid", func(o *Options) { o.HTTPClient = &http.Client{Transport: tr} })
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(50*time.Millisecond))
	defer cancel()
	_, err := c.CreateInstance(ctx, []InstanceRequest{{ProjectName: "p"}})
	if tr.sent {
		t.Fatal("the body was handed out after the deadline")
	}
	if !errors.Is(err, ErrDeadlinePassed) || IsAmbiguous(err) {
		t.Fatalf("err = %v (ambiguous %v), want ErrDeadlinePassed and not ambiguous", err, IsAmbiguous(err))
	}
}

func TestRequestsCarryTheirDeadline(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"slug":"success","data":[]}`)
	})
	c := newTestClient(t, srv.URL)
	deadline := time.Now().Add(10 * time.Second).Round(0)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, _ = c.CreateInstance(ctx, []InstanceRequest{{ProjectName: "p"}})
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got, err := time.Parse(time.RFC3339Nano, reqs[0].Header.Get(DeadlineHeader))
	if err != nil || !got.Equal(deadline) {
		t.Fatalf("%s = %v (%v), want %v", DeadlineHeader, got, err, deadline)
	}
	if len(reqs[0].Body) == 0 {
		t.Fatal("body lost")
	}
}

func TestRateLimitedCreateFailsAsNotSentWhenTheWaitOutlastsItsDeadline(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"slug":"success","data":[]}`)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.RateLimit = 1; o.Burst = 1 })
	_, _ = c.CreateInstance(ctxT(t), []InstanceRequest{{ProjectName: "p"}}) // takes the token
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.CreateInstance(ctx, []InstanceRequest{{ProjectName: "p"}})
	if !errors.Is(err, ErrDeadlinePassed) || IsAmbiguous(err) || srv.count() != 1 {
		t.Fatalf("err = %v (ambiguous %v), %d requests; want ErrDeadlinePassed, nothing sent", err, IsAmbiguous(err), srv.count())
	}
}
