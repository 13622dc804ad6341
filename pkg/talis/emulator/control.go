/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// serveControl serves /emulator/*: runtime control for tests and humans.
// It bypasses auth, rate limits, faults and stats.
//
//	GET|PUT|DELETE /emulator/faults    fault plan (PUT replaces, DELETE clears)
//	GET|PUT        /emulator/delays    worker delays (PUT may be partial)
//	GET|DELETE     /emulator/stats     counters (DELETE or POST /emulator/stats/reset resets)
//	GET            /emulator/ledger    every instance ever created
//	POST           /emulator/restart   ?downtime=2s; answers 202, then restarts
//	GET|PUT        /emulator/apikeys   JSON array of keys ([] disables auth)
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path + " " + r.Method {
	case "/emulator/faults GET":
		writeJSON(w, http.StatusOK, s.Faults())
	case "/emulator/faults PUT", "/emulator/faults POST":
		var f Faults
		if !readControlJSON(w, r, &f) {
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.Faults())
	case "/emulator/faults DELETE":
		s.SetFaults(Faults{})
		writeJSON(w, http.StatusOK, s.Faults())
	case "/emulator/delays GET":
		writeJSON(w, http.StatusOK, s.Delays())
	case "/emulator/delays PUT", "/emulator/delays POST":
		d := s.Delays()
		if !readControlJSON(w, r, &d) {
			return
		}
		s.SetDelays(d)
		writeJSON(w, http.StatusOK, d)
	case "/emulator/stats GET":
		writeJSON(w, http.StatusOK, s.Stats())
	case "/emulator/stats DELETE", "/emulator/stats/reset POST":
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case "/emulator/ledger GET":
		s.writeLedger(w)
	case "/emulator/restart POST":
		d := s.cfg.RestartDowntime
		if v := r.URL.Query().Get("downtime"); v != "" {
			pd, err := time.ParseDuration(v)
			if err != nil || pd < 0 {
				writePlain(w, http.StatusBadRequest, "bad downtime: "+v)
				return
			}
			d = pd
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "restarting", "downtime": d.String()})
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go func() {
			time.Sleep(50 * time.Millisecond) // let this response leave first
			_ = s.RestartFor(d)
		}()
	case "/emulator/apikeys GET":
		writeJSON(w, http.StatusOK, s.APIKeys())
	case "/emulator/apikeys PUT", "/emulator/apikeys POST":
		var keys []string
		if !readControlJSON(w, r, &keys) {
			return
		}
		s.SetAPIKeys(keys...)
		writeJSON(w, http.StatusOK, s.APIKeys())
	default:
		writePlain(w, http.StatusNotFound, "unknown emulator endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func readControlJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writePlain(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// writeLedger streams the ledger (it can hold 100k+ entries).
func (s *Server) writeLedger(w http.ResponseWriter) {
	entries := s.Ledger()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_ = bw.WriteByte('[')
	for i := range entries {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		b, _ := json.Marshal(entries[i])
		_, _ = bw.Write(b)
	}
	_ = bw.WriteByte(']')
	_ = bw.Flush()
}
