package talis

import (
	"bytes"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// hostileSize is what an adversarial endpoint answered with: 60 MiB.
const hostileSize = 60 << 20

// hostile answers 200 with head, n filler bytes and tail, written from one reused chunk so
// that the server side allocates next to nothing; with announce, Content-Length is set.
func hostile(head string, n int, filler byte, tail string, announce bool) func(http.ResponseWriter, *http.Request, int) {
	chunk := bytes.Repeat([]byte{filler}, 32<<10)
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		if announce {
			w.Header().Set("Content-Length", strconv.Itoa(len(head)+n+len(tail)))
		}
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write([]byte(head)); err != nil {
			return
		}
		for left := n; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = w.Write([]byte(tail))
	}
}

// allocated runs f and returns the bytes allocated meanwhile, by every goroutine.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkTooLarge wants the clear, final error: it names the endpoint and the bound.
func checkTooLarge(t *testing.T, err error, url, bound, size string) {
	t.Helper()
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("err = %v, want ErrResponseTooLarge", err)
	}
	if IsRetryable(err) {
		t.Fatalf("a too large answer must not look retryable: %v", err)
	}
	for _, want := range []string{url, bound, size} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}

func TestHugeBodyIsRefusedAtTheBound(t *testing.T) {
	for _, announce := range []bool{false, true} {
		t.Run("Content-Length "+strconv.FormatBool(announce), func(t *testing.T) {
			rec := newRecorder(t, hostile(`{"ID":1,"name":"`, hostileSize, 'a', `"}`, announce))
			c := newTestClient(t, rec.URL)
			var err error
			n := allocated(func() { _, err = c.GetInstance(ctxT(t), "1") })
			checkTooLarge(t, err, rec.URL, "MaxResponseBytes", "4 MiB")
			if rec.count() != 1 {
				t.Fatalf("%d requests: a too large answer was asked for again", rec.count())
			}
			// Reading doubles its buffer up to the bound: about twice the bound in all.
			if limit := uint64(3 * DefaultMaxResponseBytes); n > limit {
				t.Fatalf("refusing a %d MiB body allocated %d MiB, want < %d MiB", hostileSize>>20, n>>20, limit>>20)
			}
			t.Logf("allocated %.1f MiB", float64(n)/(1<<20))
		})
	}
}

func TestHugeListIsRefusedAtMaxListBytes(t *testing.T) {
	// 60 MiB of small, valid rows: each is cheap, only their number is hostile.
	row := `{"ID":1,"status":"ready"},`
	chunk := []byte(strings.Repeat(row, (32<<10)/len(row)))
	rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"rows":[`))
		for sent := 0; sent < hostileSize; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`{"ID":2}]}`))
	})
	const limit = 1 << 20
	c := newTestClient(t, rec.URL, func(o *Options) { o.MaxListBytes = limit })
	rows := 0
	err := c.ScanInstances(ctxT(t), &ListOptions{Limit: NoLimit}, func(*Instance) error { rows++; return nil })
	checkTooLarge(t, err, rec.URL, "MaxListBytes", "1 MiB")
	if rows == 0 || rows > limit/len(row) || rec.count() != 1 {
		t.Fatalf("%d rows handed over, %d requests", rows, rec.count())
	}
}

func TestHugeStringFieldIsNeverBuffered(t *testing.T) {
	// One row whose name is a single 60 MiB JSON string: json.Decoder would buffer the whole
	// token, then copy it into the string, and the row would keep it.
	rec := newRecorder(t, hostile(`{"rows":[{"ID":1,"status":"ready","name":"`, hostileSize, 'a', `"}]}`, false))
	c := newTestClient(t, rec.URL)
	var err error
	rows := 0
	n := allocated(func() {
		err = c.ScanInstances(ctxT(t), &ListOptions{Limit: NoLimit}, func(*Instance) error { rows++; return nil })
	})
	checkTooLarge(t, err, rec.URL, "MaxRowBytes", "256 KiB")
	if rows != 0 || rec.count() != 1 {
		t.Fatalf("%d rows handed over, %d requests", rows, rec.count())
	}
	// The decoder's buffer holds at most the row bound plus what it read ahead, doubling as
	// it grows: a few times the row bound, nothing like the 60 MiB sent.
	if limit := uint64(8 * MaxRowBytes); n > limit {
		t.Fatalf("refusing a %d MiB string allocated %.1f MiB, want < %d MiB", hostileSize>>20, float64(n)/(1<<20), limit>>20)
	}
	t.Logf("allocated %.1f MiB", float64(n)/(1<<20))
}

func TestHugeErrorBodyIsCut(t *testing.T) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(http.StatusBadRequest)
		for sent := 0; sent < hostileSize; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := newTestClient(t, rec.URL)
	var err error
	n := allocated(func() { _, err = c.GetInstance(ctxT(t), "1") })
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || len(apiErr.Message) > maxErrorText+8 {
		t.Fatalf("err = %v", err)
	}
	if limit := uint64(1 << 20); n > limit {
		t.Fatalf("a %d MiB error body allocated %.1f MiB, want < 1 MiB", hostileSize>>20, float64(n)/(1<<20))
	}
}

func TestRowBoundKeepsLegitimateRows(t *testing.T) {
	// The longest row the operator can cause: 40 tags of 128 bytes and 16 volumes.
	var b strings.Builder
	b.WriteString(`{"rows":[{"ID":1,"status":"ready","tags":[`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strings.Repeat("t", 128) + `"`)
	}
	b.WriteString(`],"volume_details":[`)
	for i := range 16 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"00000006-0000-4000-8000-e1a000000000","name":"` + strings.Repeat("v", 64) + `","region":"nyc1","size_gb":10,"mount_point":"/` + strings.Repeat("m", 64) + `"}`)
	}
	b.WriteString(`]}],"pagination":{"limit":0}}`)
	rec := newRecorder(t, fixed(http.StatusOK, b.String()))
	rows := 0
	err := newTestClient(t, rec.URL).ScanInstances(ctxT(t), nil, func(in *Instance) error {
		rows++
		if len(in.Tags) != 40 || len(in.VolumeDetails) != 16 {
			t.Fatalf("row %+v", in)
		}
		return nil
	})
	if err != nil || rows != 1 {
		t.Fatalf("err %v, %d rows (a %d-byte row)", err, rows, b.Len())
	}
}
