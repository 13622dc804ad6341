package talis

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// newAPIError builds the error for a non-2xx response. The key is redacted
// from everything taken from the body: a misconfigured proxy or debug
// endpoint may echo request headers back.
func newAPIError(status int, header http.Header, body []byte, apiKey string, method, route string, rpc bool) *APIError {
	e := parseErrorBody(status, body, apiKey)
	e.Method, e.Route = method, route
	if header != nil {
		e.retryAfter, e.hasRetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	}
	if rpc && e.StatusCode == http.StatusBadRequest && (e.Message == "Unknown method" || e.Message == "Unknown task method") {
		e.unsupported = true
	}
	return e
}

// parseErrorBody tries, in order: RPC envelope, slug envelope, plain
// {"error":...}, gateway {"message":...}, then the body as text. Fields are
// read loosely so one odd field does not hide the others.
func parseErrorBody(status int, body []byte, apiKey string) *APIError {
	e := &APIError{StatusCode: status}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil && m != nil {
		errObj := rawObject(m["error"])
		success, hasSuccess := rawBool(m["success"])
		slug, hasSlug := rawString(m["slug"])
		errStr, _ := rawString(m["error"])
		msg, _ := rawString(m["message"])
		switch {
		case errObj != nil:
			e.shape = shapeRPC
			e.Message, _ = rawString(errObj["message"])
			e.Detail = rawText(errObj["data"])
			if e.Message == "" && e.Detail == "" {
				e.Detail = rawText(m["error"])
			}
			if code, ok := rawInt(errObj["code"]); ok && e.StatusCode < 400 && code >= 400 && code <= 599 {
				e.StatusCode = code
			}
		case hasSuccess && !success:
			e.shape, e.Message = shapeRPC, "RPC call failed without an error object"
		case hasSlug:
			e.shape, e.Slug, e.Message, e.Detail = shapeSlug, slug, errStr, rawText(m["data"])
		case errStr != "":
			e.shape, e.Message, e.Detail = shapePlain, errStr, rawText(m["details"])
		case msg != "":
			e.shape, e.Message = shapeGateway, msg
		}
	}
	if e.shape == shapeText {
		e.Message = strings.TrimSpace(string(body))
	}
	e.Message = cleanText(e.Message, apiKey)
	e.Detail = cleanText(e.Detail, apiKey)
	e.Slug = cleanText(e.Slug, apiKey)
	if e.Message == "" {
		e.Message = http.StatusText(e.StatusCode)
	}
	return e
}

func rawObject(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func rawString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func rawBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if len(raw) == 0 || json.Unmarshal(raw, &b) != nil {
		return false, false
	}
	return b, true
}

func rawInt(raw json.RawMessage) (int, bool) {
	var n int
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

// rawText renders optional JSON detail: strings as is, null as "", anything
// else as compact JSON.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if s, ok := rawString(raw); ok {
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// cleanText redacts the key (before truncating, so no prefix of it can
// survive the cut), makes the text valid UTF-8 and bounds its length.
func cleanText(s, apiKey string) string {
	if apiKey != "" {
		s = strings.ReplaceAll(s, apiKey, "[REDACTED]")
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
