/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Slugs emitted by the server.
const (
	slugSuccess      = "success"
	slugInvalidInput = "invalid-input"
	slugServerError  = "server-error"
)

// faultMsg is the "database error" text of injected 500s.
const faultMsg = "emulator: injected fault"

// errUnprocessable is what Fiber's BodyParser returns without a JSON type.
var errUnprocessable = errors.New("Unprocessable Entity")

// typeNames rewrites our Go type names in decoder messages into the
// upstream package-qualified names (specific entries first).
var typeNames = strings.NewReplacer(
	"emulator.InstanceRequest", "types.InstanceRequest",
	"emulator.DeleteInstancesRequest", "types.DeleteInstancesRequest",
	"emulator.VolumeConfig", "types.VolumeConfig",
	"emulator.ProviderID", "models.ProviderID",
	"emulator.UserRole", "models.UserRole",
	"emulator.", "handlers.",
)

func decodeMsg(err error) string { return typeNames.Replace(err.Error()) }

// mediaType ports Fiber v2's BodyParser normalisation: lower case, vendor
// types folded (application/vnd.x+json → application/json), parameters
// dropped.
func mediaType(ct string) string {
	ct = strings.ToLower(ct)
	if plus := strings.IndexByte(ct, '+'); plus >= 0 {
		semi := strings.IndexByte(ct, ';')
		var sub string
		switch {
		case semi == -1:
			sub = ct[plus+1:]
		case plus < semi:
			sub = ct[plus+1 : semi]
		default:
			sub = ""
			ct = ct[:semi]
		}
		if sub != "" {
			if slash := strings.IndexByte(ct, '/'); slash >= 0 {
				ct = ct[:slash+1] + sub
			}
		}
	}
	if semi := strings.IndexByte(ct, ';'); semi >= 0 {
		ct = ct[:semi]
	}
	return ct
}

// decodeBody parses a request body the way the handlers' BodyParser does
// (XML and multipart bodies are not modelled: they answer as unknown types).
func decodeBody(r *http.Request, body []byte, out any) error {
	ct := r.Header.Get("Content-Type")
	switch mt := mediaType(ct); {
	case strings.HasSuffix(mt, "json"):
		return json.Unmarshal(body, out)
	case strings.HasPrefix(mt, formType):
		return decodeForm(ct, body, out)
	}
	return errUnprocessable
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal Server Error"}`)
	}
	writeRaw(w, status, "application/json", b)
}

func writeRaw(w http.ResponseWriter, status int, ctype string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeSlug(w http.ResponseWriter, status int, slug, msg string, data any) {
	writeJSON(w, status, SlugResponse{Slug: slug, Error: msg, Data: data})
}

func writeInvalid(w http.ResponseWriter, msg string) {
	writeSlug(w, http.StatusBadRequest, slugInvalidInput, msg, nil)
}

func writePlain(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeRPCError(w http.ResponseWriter, status int, msg string, data any, id string) {
	writeJSON(w, status, RPCResponse{Error: &RPCError{Code: status, Message: msg, Data: data}, ID: id})
}

func writeRPCOK(w http.ResponseWriter, data any, id string) {
	writeJSON(w, http.StatusOK, RPCResponse{Data: data, ID: id, Success: true})
}

// writeGateway answers like the Kong gateway in front of the service.
func writeGateway(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	writeRaw(w, status, "application/json; charset=utf-8", b)
}
