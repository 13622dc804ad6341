package talis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ScanInstances is GetInstances for callers that keep only part of a long
// unpaged list: each row is handed to fn as soon as it is decoded, so neither
// the response body nor every full row is held at once. Rows are fresh
// values fn may keep. An error from fn ends the scan and is returned as is.
// A call that fails after its first row was handed over is not retried (fn
// would see rows twice); failures before that are retried like GetInstances.
func (c *APIClient) ScanInstances(ctx context.Context, opts *ListOptions, fn func(*Instance) error) error {
	const path = "/api/v1/instances"
	const route = "GET " + path
	q, err := opts.query()
	if err != nil {
		return err
	}
	var fnErr error
	_, err = c.do(ctx, call{method: "ScanInstances", route: route, httpMethod: http.MethodGet,
		path: path, query: q, idempotent: true, list: true,
		stream: func(r io.Reader) error {
			return scanInstanceList(r, func(in *Instance) error {
				if fnErr = fn(in); fnErr != nil {
					return errScanStopped
				}
				return nil
			})
		}})
	if fnErr != nil {
		return fnErr
	}
	return err
}

var errScanStopped = errors.New("scan stopped by its caller")

// MaxRowBytes bounds one JSON value of a scanned list: a row, or another member of the
// envelope. encoding/json's Decoder buffers a whole value before decoding it (a 60 MiB name
// would be held twice, as buffer and as string), so the bytes read for one value are counted
// and a longer one fails the scan with an error matching ErrResponseTooLarge. The longest row
// the operator can cause is about 9 KiB (32 tags of 128 bytes, the operator's own tags, 16
// volumes); 256 KiB leaves room for whatever else a Talis row may carry.
const MaxRowBytes = 256 << 10

var errRowTooLong = errors.New("list row too long")

// rowWindow counts the bytes read since its last reset and fails reads beyond max. The
// decoder's buffer then holds at most what was left over from the previous value plus max.
type rowWindow struct {
	r   io.Reader
	n   int64
	max int64
}

func (w *rowWindow) reset() { w.n = 0 }

func (w *rowWindow) Read(p []byte) (int, error) {
	if w.n >= w.max {
		return 0, errRowTooLong
	}
	if room := w.max - w.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := w.r.Read(p)
	w.n += int64(n)
	return n, err
}

// scanInstanceList decodes a {"rows": [...], ...} list envelope row by row and
// accepts what decodeInstanceList accepts: null rows are skipped, other members
// ignored, member names matched case-insensitively like encoding/json does.
func scanInstanceList(r io.Reader, fn func(*Instance) error) error {
	w := &rowWindow{r: r, max: MaxRowBytes}
	dec := json.NewDecoder(w)
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case nil: // a null body decodes into an empty list
		return expectEnd(dec)
	case json.Delim('{'):
	default:
		return fmt.Errorf("list body is %v, not an object", tok)
	}
	for dec.More() {
		w.reset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if name, _ := tok.(string); !strings.EqualFold(name, "rows") {
			w.reset()
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if err := scanRows(dec, w, fn); err != nil {
			return err
		}
	}
	w.reset()
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	w.reset()
	return expectEnd(dec)
}

func scanRows(dec *json.Decoder, w *rowWindow, fn func(*Instance) error) error {
	w.reset()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case nil:
		return nil
	case json.Delim('['):
	default:
		return fmt.Errorf("rows is %v, not an array", tok)
	}
	for dec.More() {
		w.reset()
		var in *Instance
		if err := dec.Decode(&in); err != nil {
			return err
		}
		if in == nil {
			continue
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	w.reset()
	_, err = dec.Token() // the closing bracket
	return err
}

// expectEnd rejects data after the top-level value, as json.Unmarshal does.
func expectEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the list body")
		}
		return err
	}
	return nil
}
