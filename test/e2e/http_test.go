//go:build e2e

package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The node reaches ClusterIPs through kube-proxy's rules like any pod would.
var client = &http.Client{
	Timeout: 10 * time.Second,
	// The manager serves metrics with a self-signed certificate (as the chart's ServiceMonitor notes).
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// get returns the status and body of GET url, with a bearer token if one is given.
func get(url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// put sends body with PUT to url and returns the status and response body.
func put(url, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// ledgerEntry is one instance the emulator ever created (GET /emulator/ledger).
type ledgerEntry struct {
	ID      uint64 `json:"id"`
	Project string `json:"project"`
	Name    string `json:"name"`
	Status  string `json:"status"`
}

func ledger(t *testing.T, talisURL, project string) []ledgerEntry {
	t.Helper()
	code, body, err := get(talisURL+"/emulator/ledger", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /emulator/ledger: %d %v", code, err)
	}
	var all []ledgerEntry
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatalf("decoding the ledger: %v", err)
	}
	var out []ledgerEntry
	for _, l := range all {
		if l.Project == project {
			out = append(out, l)
		}
	}
	return out
}

// checkLedger fails unless the project has exactly want instances ever created, all live, no two
// with one name: a duplicate create, even one cleaned up later, stays in the ledger.
func checkLedger(t *testing.T, talisURL, project string, want int) {
	t.Helper()
	entries := ledger(t, talisURL, project)
	names := map[string]bool{}
	for _, l := range entries {
		if l.Status == "terminated" {
			t.Errorf("ledger: instance %d (%s) was terminated", l.ID, l.Name)
		}
		if names[l.Name] {
			t.Errorf("ledger: instance name %s created twice", l.Name)
		}
		names[l.Name] = true
	}
	if len(entries) != want {
		t.Errorf("ledger: project %s has %d instances ever created, want exactly %d: %+v", project, len(entries), want, entries)
	}
}

// checkMetrics scrapes url with a token allowed to get /metrics, then proves that no token is
// refused (401) and a token without the metrics-reader role is forbidden (403).
func checkMetrics(t *testing.T, url, reader, nobody string) {
	t.Helper()
	eventually(t, time.Minute, "metrics scraped with the reader's token", func() error {
		code, body, err := get(url, reader)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		if !contains(body, "rest_client_requests_total") {
			return fmt.Errorf("no rest_client_requests_total in %d bytes", len(body))
		}
		return nil
	})
	if code, _, err := get(url, ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("metrics without a token: status %d (%v), want 401", code, err)
	}
	if code, _, err := get(url, nobody); err != nil || code != http.StatusForbidden {
		t.Errorf("metrics with a token lacking the metrics-reader role: status %d (%v), want 403", code, err)
	}
}
