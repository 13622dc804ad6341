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
		path: path, query: q, idempotent: true,
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

// scanInstanceList decodes a {"rows": [...], ...} list envelope row by row and
// accepts what decodeInstanceList accepts: null rows are skipped, other members
// ignored, member names matched case-insensitively like encoding/json does.
func scanInstanceList(r io.Reader, fn func(*Instance) error) error {
	dec := json.NewDecoder(r)
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
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if name, _ := tok.(string); !strings.EqualFold(name, "rows") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if err := scanRows(dec, fn); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	return expectEnd(dec)
}

func scanRows(dec *json.Decoder, fn func(*Instance) error) error {
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
