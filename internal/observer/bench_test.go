package observer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// BenchmarkSnapshotPerRow lists an emulator's instance rows (sets of three, each tagged as a set
// tags its instances, one volume each) into a snapshot and reports, per row: bytes on the wire, bytes allocated to
// decode and keep it, and bytes the snapshot keeps afterwards.
func BenchmarkSnapshotPerRow(b *testing.B) {
	const rows = 2001
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

	// What a snapshot keeps: the live heap with a few of them, less the live heap without.
	const held = 4
	without := harness.LiveHeapBytes()
	kept := make([]*Snapshot, held)
	for i := range kept {
		kept[i] = list()
	}
	with := harness.LiveHeapBytes()
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
	b.ReportMetric(float64(int64(with)-int64(without))/held/rows, "kept-B/row")
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
	for set := range n / 3 {
		if _, err := c.CreateInstance(ctx, []talis.InstanceRequest{{OwnerID: talis.AdminOwnerID, Provider: "do", Region: "nyc1",
			Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64", ProjectName: "default.web.0a1b2c3d", Name: fmt.Sprintf("default-web-%05d", set),
			NumberOfInstances: 3, Tags: creates.Tags(fmt.Sprintf("%024x", set), 1, "0123456789abcdef", []string{"team:platform"}),
			Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10}}}}); err != nil {
			b.Fatal(err)
		}
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
