package observer

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// BenchmarkSnapshotPerRow lists an emulator's instance rows (tagged as a set tags them, one
// volume each) into a snapshot and reports, per row: bytes on the wire, bytes allocated to
// decode and keep it, and bytes the snapshot keeps afterwards.
func BenchmarkSnapshotPerRow(b *testing.B) {
	const rows = 2000
	body := emulatorListBody(b, rows)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	c, err := talis.NewClient(&talis.Options{BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	list := func() *Snapshot {
		snap := newSnapshot(time.Now(), "bench", DefaultMaxRows, nil)
		if err := c.ScanInstances(context.Background(), &talis.ListOptions{Limit: talis.NoLimit}, snap.add); err != nil {
			b.Fatal(err)
		}
		if snap.rows != rows {
			b.Fatalf("%d rows", snap.rows)
		}
		return snap
	}

	// What one snapshot keeps: the heap with it, less the heap without it.
	var without, with runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&without)
	kept := list()
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(kept)
	kept = nil

	b.ResetTimer()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range b.N {
		list()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(len(body))/rows, "wire-B/row")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/rows, "alloc-B/row")
	b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/rows, "kept-B/row")
}

// emulatorListBody is an emulator's unpaged GET /api/v1/instances with n instances.
func emulatorListBody(b *testing.B, n int) []byte {
	emu := emulator.New(emulator.Config{TasksPerSecond: -1})
	defer func() { _ = emu.Close() }()
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()
	c, err := talis.NewClient(&talis.Options{BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateProject(ctx, talis.ProjectCreateParams{Name: "default.web.0a1b2c3d", OwnerID: talis.AdminOwnerID}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateInstance(ctx, []talis.InstanceRequest{{OwnerID: talis.AdminOwnerID, Provider: "do", Region: "nyc1",
		Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64", ProjectName: "default.web.0a1b2c3d", Name: "default-web-7f9c2-a1b2c",
		NumberOfInstances: n, Tags: []string{"tio-set=0123456789abcdef01234567", "tio-attempt=0123456789abcdef", "team:platform"},
		Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10}}}}); err != nil {
		b.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/api/v1/instances?limit=0")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return body
}
