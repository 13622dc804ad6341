package talis

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// scanAll collects what scanInstanceList hands over.
func scanAll(b []byte) ([]*Instance, error) {
	var rows []*Instance
	err := scanInstanceList(bytes.NewReader(b), func(in *Instance) error {
		rows = append(rows, in)
		return nil
	})
	return rows, err
}

// The streaming decoder accepts and rejects what the buffered one does.
func TestScanInstanceListMatchesDecode(t *testing.T) {
	cases := map[string]string{
		"captured":            string(readTestdata(t, "instance_list.json")),
		"null body":           `null`,
		"empty object":        `{}`,
		"null rows":           `{"rows":null,"pagination":{"limit":0}}`,
		"null row skipped":    `{"rows":[null,{"ID":3,"name":"a"},null]}`,
		"other case":          `{"ROWS":[{"ID":4}]}`,
		"members before":      `{"pagination":{"total":1},"x":[1,{"y":2}],"rows":[{"ID":5}]}`,
		"whitespace around":   " \n{\"rows\":[]}\n ",
		"trailing garbage":    `{"rows":[]}x`,
		"second value":        `{"rows":[]}{}`,
		"rows not array":      `{"rows":{"ID":1}}`,
		"rows a string":       `{"rows":"no"}`,
		"top-level array":     `[{"ID":1}]`,
		"truncated":           `{"rows":[{"ID":1},`,
		"bad row":             `{"rows":[{"ID":"one"}]}`,
		"empty":               ``,
		"bad member value":    `{"pagination":tru,"rows":[]}`,
		"nested rows ignored": `{"meta":{"rows":[{"ID":9}]},"rows":[{"ID":1}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			want, werr := decodeInstanceList([]byte(body))
			got, gerr := scanAll([]byte(body))
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("decode error %v, scan error %v", werr, gerr)
			}
			if werr == nil && !sameRows(got, want) {
				t.Fatalf("scan %+v, decode %+v", got, want)
			}
		})
	}
}

func sameRows(a, b []*Instance) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func FuzzScanInstanceList(f *testing.F) {
	addSeeds(f, "instance_list.json")
	f.Add([]byte(`{"rows":[null,{"ID":1}],"pagination":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := scanAll(b)
		// encoding/json keeps the last of duplicate members; a stream cannot, and no
		// server sends them.
		if bytes.Count(bytes.ToLower(b), []byte(`"rows"`)) > 1 || bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte{'\\'}) {
			return
		}
		want, werr := decodeInstanceList(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("decode error %v, scan error %v for %q", werr, gerr, b)
		}
		if werr == nil && !sameRows(got, want) {
			t.Fatalf("scan %+v, decode %+v for %q", got, want, b)
		}
	})
}

func instanceListBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`{"ID":` + strconv.Itoa(i) + `,"status":"ready","tags":["a","b"]}`)
	}
	b.WriteString(`],"pagination":{"limit":0}}`)
	return b.String()
}

func TestScanInstances(t *testing.T) {
	t.Run("every row, one request", func(t *testing.T) {
		rec := newRecorder(t, fixed(http.StatusOK, instanceListBody(500)))
		n := 0
		err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), &ListOptions{Limit: NoLimit}, func(in *Instance) error {
			n++
			if in.ID != uint(n) || in.Status != InstanceStatusReady {
				t.Fatalf("row %d is %+v", n, in)
			}
			return nil
		})
		if err != nil || n != 500 || rec.count() != 1 {
			t.Fatalf("err %v, %d rows, %d requests", err, n, rec.count())
		}
		if q := rec.requests()[0].Query.Get("limit"); q != "0" {
			t.Fatalf("limit=%q", q)
		}
	})
	t.Run("caller's error stops the scan and is returned", func(t *testing.T) {
		rec := newRecorder(t, fixed(http.StatusOK, instanceListBody(10)))
		stop := errors.New("enough")
		n := 0
		err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), nil, func(*Instance) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 || rec.count() != 1 {
			t.Fatalf("err %v after %d rows and %d requests", err, n, rec.count())
		}
	})
	t.Run("server error before the body is retried", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				fixed(http.StatusBadGateway, `{"message":"An invalid response was received from the upstream server"}`)(w, r, n)
				return
			}
			fixed(http.StatusOK, instanceListBody(4))(w, r, n)
		})
		n := 0
		err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), nil, func(*Instance) error { n++; return nil })
		if err != nil || n != 4 || rec.count() != 2 {
			t.Fatalf("err %v, %d rows, %d requests", err, n, rec.count())
		}
	})
	t.Run("a body cut short is final and retryable by the caller", func(t *testing.T) {
		full := instanceListBody(50)
		rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Length", strconv.Itoa(len(full)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(full[:len(full)/2]))
			w.(http.Flusher).Flush()
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
				}
			}
		})
		n := 0
		err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), nil, func(*Instance) error { n++; return nil })
		if err == nil || n == 0 || rec.count() != 1 {
			t.Fatalf("err %v, %d rows, %d requests", err, n, rec.count())
		}
		if !IsRetryable(err) {
			t.Fatalf("a read failure should be worth another call: %v", err)
		}
	})
	t.Run("malformed body is a decode failure, not retried", func(t *testing.T) {
		rec := newRecorder(t, fixed(http.StatusOK, `{"rows":[{"ID":1},{"ID":"two"}]}`))
		n := 0
		err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), nil, func(*Instance) error { n++; return nil })
		if err == nil || IsRetryable(err) || rec.count() != 1 || n != 1 {
			t.Fatalf("err %v (retryable %t), %d rows, %d requests", err, IsRetryable(err), n, rec.count())
		}
	})
}
