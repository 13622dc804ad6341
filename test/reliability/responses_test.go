package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// TestMalformedTalisResponses points the Talis client at a server that answers garbage and
// requires a clear error (naming the route and what was wrong) instead of a panic, a hang or a
// silently empty result. Errors must also be classified right: a create whose 2xx body is
// unreadable was applied (ambiguous), an unreadable list is not retried, and the API key, even
// when the server echoes it, never appears in the message.
func TestMalformedTalisResponses(t *testing.T) {
	const key = "tk-responses-8c1f0e2d"
	list := func(c *talis.APIClient) error {
		rows, err := c.GetInstances(context.Background(), &talis.ListOptions{Limit: talis.NoLimit})
		if err == nil {
			return fmt.Errorf("no error, %d rows", len(rows))
		}
		return err
	}
	create := func(c *talis.APIClient) error {
		_, err := c.CreateInstance(context.Background(), []talis.InstanceRequest{{OwnerID: talis.AdminOwnerID,
			Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb", Image: "ubuntu", ProjectName: "p", NumberOfInstances: 1,
			Volumes: []talis.VolumeConfig{{Name: "d", SizeGB: 1}}}})
		if err == nil {
			return errors.New("no error")
		}
		return err
	}
	getProject := func(c *talis.APIClient) error {
		p, err := c.GetProject(context.Background(), talis.ProjectGetParams{Name: "p", OwnerID: talis.AdminOwnerID})
		if err == nil {
			return fmt.Errorf("no error, project %+v", p)
		}
		return err
	}
	getInstance := func(c *talis.APIClient) error {
		in, err := c.GetInstance(context.Background(), "1")
		if err == nil {
			return fmt.Errorf("no error, instance %+v", in)
		}
		return err
	}
	body := func(status int, s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(s))
		}
	}
	endless := func(status int, chunk string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			b := []byte(strings.Repeat(chunk, 1<<16/len(chunk)))
			for r.Context().Err() == nil {
				if _, err := w.Write(b); err != nil {
					return
				}
			}
		}
	}
	cut := func(status int, declared int, s string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(declared))
			w.WriteHeader(status)
			_, _ = w.Write([]byte(s))
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			panic(http.ErrAbortHandler)
		}
	}
	trickle := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"rows":[`))
		for r.Context().Err() == nil {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			time.Sleep(100 * time.Millisecond)
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
		}
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		call    func(*talis.APIClient) error
		want    []string
		check   func(error) error
	}{
		{"truncated JSON list", body(200, `{"rows":[{"ID":1,"name":"a"`), list, []string{"GET /api/v1/instances", "unexpected end of JSON input"}, notRetryable},
		{"string where a number belongs", body(200, `{"rows":[{"ID":"one"}]}`), list, []string{"GET /api/v1/instances", "cannot unmarshal string", "ID"}, nil},
		{"negative id", body(200, `{"rows":[{"ID":-1}]}`), list, []string{"cannot unmarshal number -1"}, nil},
		{"number out of range", body(200, `{"rows":[{"ID":1e400}]}`), list, []string{"GET /api/v1/instances"}, nil},
		{"rows as an object", body(200, `{"rows":{"ID":1}}`), list, []string{"cannot unmarshal object"}, nil},
		{"tags as a string", body(200, `{"rows":[{"ID":1,"tags":"a,b"}]}`), list, []string{"cannot unmarshal string", "tags"}, nil},
		{"HTML instead of JSON", body(200, `<html><body>Welcome to nginx</body></html>`), list, []string{"GET /api/v1/instances", "invalid character '<'"}, nil},
		{"empty 200", body(200, ``), list, []string{"unexpected end of JSON input"}, nil},
		{"deeply nested JSON", body(200, `{"rows":`+strings.Repeat("[", 20000)), list, []string{"GET /api/v1/instances", "exceeded max depth"}, nil},
		{"huge 200 body", endless(200, `{"rows":[`+strings.Repeat(" ", 63)), list, []string{"GET /api/v1/instances", "exceeds 64 MiB (MaxListBytes)"}, nil},
		{"huge 500 body", endless(500, "stack trace line "), list, []string{"GET /api/v1/instances", "500"}, shortMessage},
		{"body cut short", cut(200, 4096, `{"rows":[{"ID":1},`), list, []string{"GET /api/v1/instances", "unexpected EOF"}, nil},
		{"body that never ends", trickle, list, []string{"GET /api/v1/instances"}, nil},
		{"server echoes the API key", body(500, `{"error":"invalid apikey `+key+` for route"}`), list, []string{"500", "invalid apikey"}, nil},
		{"garbage Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "-99999999999999999999")
			w.WriteHeader(429)
		}, list, []string{"429"}, nil},
		{"truncated create response", body(201, `{"slug":"success","data":[{"ID":7,`), create, []string{"POST /api/v1/instances", "request applied but response unreadable"}, ambiguous},
		{"create data of the wrong type", body(201, `{"slug":"success","error":"","data":"created"}`), create, []string{"POST /api/v1/instances", "cannot unmarshal string"}, ambiguous},
		{"create answered with a non-success slug", body(201, `{"slug":"server-error","error":"disk full","data":null}`), create, []string{"POST /api/v1/instances", "disk full"}, ambiguous},
		{"RPC data of the wrong type", body(200, `{"success":true,"data":"project"}`), getProject, []string{"RPC project.get", "cannot unmarshal string"}, nil},
		{"RPC success without data", body(200, `{"success":true}`), getProject, []string{"RPC project.get", "success without data"}, nil},
		{"RPC failure without an error", body(200, `{"success":false}`), getProject, []string{"RPC project.get", "without an error object"}, nil},
		{"RPC envelope is an array", body(200, `[1,2,3]`), getProject, []string{"RPC project.get", "cannot unmarshal array"}, nil},
		{"RPC null", body(200, `null`), getProject, []string{"RPC project.get"}, nil},
		{"instance as an array", body(200, `[{"ID":1}]`), getInstance, []string{"GET /api/v1/instances/{id}", "cannot unmarshal array"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			// Long enough to read a 64 MiB body under -race on a loaded machine (it once timed
			// out at 2 s in CI-like runs); the endless bodies still end at the size cap.
			c, err := talis.NewClient(&talis.Options{BaseURL: srv.URL, APIKey: key, Timeout: 10 * time.Second,
				Retry: talis.RetryPolicy{MaxAttempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.call(c) }()
			var got error
			select {
			case got = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the call did not return")
			}
			msg := got.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, key) || strings.Contains(fmt.Sprintf("%+v %#v", got, got), key) {
				t.Errorf("the API key appears in the error: %s", msg)
			}
			if strings.HasPrefix(msg, "no error") {
				t.Errorf("malformed answer accepted: %s", msg)
			}
			if tc.check != nil {
				if err := tc.check(got); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func ambiguous(err error) error {
	if !talis.IsAmbiguous(err) {
		return fmt.Errorf("a create answered 2xx with an unreadable body was applied; IsAmbiguous must be true: %v", err)
	}
	return nil
}

func notRetryable(err error) error {
	if talis.IsRetryable(err) {
		return fmt.Errorf("a malformed body is not fixed by retrying the same call: %v", err)
	}
	return nil
}

func shortMessage(err error) error {
	if n := len(err.Error()); n > 4096 {
		return fmt.Errorf("error message is %d bytes; a huge error body must be cut", n)
	}
	if !talis.IsRetryable(err) {
		return fmt.Errorf("a 500 is retryable: %v", err)
	}
	return nil
}
