package observer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// sharedEmulator is an emulator holding foreign ready instances of another owner, and the
// operator's own project (empty): a Talis the operator shares.
type sharedEmulator struct {
	emu     *emulator.Server
	url     string
	client  *talis.APIClient
	project Project
}

func newSharedEmulator(t *testing.T, cfg emulator.Config, foreign int) *sharedEmulator {
	t.Helper()
	emu := emulator.New(cfg)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	c, err := talis.NewClient(&talis.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if foreign > 0 {
		if _, err := c.CreateProject(ctx, talis.ProjectCreateParams{Name: "other-team", OwnerID: 7}); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.SeedReadyInstances(emulator.InstanceRequest{Name: "other", OwnerID: 7, Provider: "do", Region: "ams3",
			Size: "s-1vcpu-1gb", Image: "ubuntu-24-04-x64", ProjectName: "other-team", NumberOfInstances: foreign,
			Volumes: []emulator.VolumeConfig{{Name: "data", SizeGB: 10}}}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := c.CreateProject(ctx, talis.ProjectCreateParams{Name: "ours", OwnerID: talis.AdminOwnerID})
	if err != nil {
		t.Fatal(err)
	}
	return &sharedEmulator{emu: emu, url: srv.URL, client: c, project: Project{ID: p.ID, Name: p.Name, OwnerID: talis.AdminOwnerID}}
}

func (s *sharedEmulator) create(t *testing.T, name string, n int) {
	t.Helper()
	if _, err := s.client.CreateInstance(context.Background(), []talis.InstanceRequest{{OwnerID: talis.AdminOwnerID,
		Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64", ProjectName: s.project.Name,
		Name: name, NumberOfInstances: n, Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10}}}}); err != nil {
		t.Error(err)
	}
}

// live is the emulator's own record of the project's instances not terminated by at.
func (s *sharedEmulator) live(at time.Time) map[uint]bool {
	out := map[uint]bool{}
	for _, e := range s.emu.Ledger() {
		if uint(e.ProjectID) == s.project.ID && e.CreatedAt.Before(at) && (e.TerminatedAt == nil || e.TerminatedAt.After(at)) {
			out[uint(e.ID)] = true
		}
	}
	return out
}

// snapshotOf is waitProject for the shared emulator's project, taken after now.
func (s *sharedEmulator) snapshotOf(t *testing.T, o *Observer, api Lister) *Snapshot {
	t.Helper()
	return waitProject(t, o, api, s.project, time.Now())
}

func ids(rows []*Instance) map[uint]bool {
	out := map[uint]bool{}
	for _, in := range rows {
		out[in.ID] = true
	}
	return out
}

func TestPagesThroughItsProjectsWhenOthersHoldMostRows(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1, StableListOrder: true,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond}}, 2000)
	s.create(t, "web", 120) // three pages
	o := New(0)
	api := &pageWatch{APIClient: s.client}

	first := s.snapshotOf(t, o, api)
	if lists, pages := api.counts(); lists != 1 || pages != 0 {
		t.Fatalf("first poll: %d whole lists, %d pages; want one whole list, which measures the endpoint", lists, pages)
	}
	if len(first.Project(s.project.ID)) != 120 {
		t.Fatalf("first snapshot has %d rows, want 120", len(first.Project(s.project.ID)))
	}

	second := s.snapshotOf(t, o, api)
	lists, pages := api.counts()
	if lists != 1 {
		t.Fatalf("second poll listed the whole endpoint (%d lists): 2,000 foreign rows against 120 of ours should page", lists)
	}
	if pages != 3 {
		t.Errorf("second poll: %d pages, want 3 (120 rows, pages of 50)", pages)
	}
	if got, want := ids(second.Project(s.project.ID)), s.live(second.StartedAt); len(got) != len(want) {
		t.Fatalf("paged snapshot has %d instances, Talis %d", len(got), len(want))
	}

	// A terminated instance drops out, a new one comes in: the pages see both.
	victim := second.Project(s.project.ID)[0].ID
	if err := s.client.DeleteInstances(context.Background(), talis.DeleteInstancesRequest{OwnerID: talis.AdminOwnerID,
		ProjectName: s.project.Name, InstanceIDs: []uint{victim}}); err != nil {
		t.Fatal(err)
	}
	s.create(t, "api", 1)
	for deadline := time.Now().Add(10 * time.Second); ; {
		live := s.live(time.Now())
		if !live[victim] && len(live) == 120 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the emulator did not terminate and create in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
	third := s.snapshotOf(t, o, api)
	got := ids(third.Project(s.project.ID))
	if got[victim] || len(got) != 120 {
		t.Fatalf("after a terminate and a create, the snapshot has %d rows (victim %d kept: %v)", len(got), victim, got[victim])
	}
	if lists, _ := api.counts(); lists != 1 {
		t.Errorf("%d whole lists; the pages alone should have served every poll after the first", lists)
	}
}

func TestListsTheWholeEndpointWhenItsRowsAreMostlyOurs(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond}}, 100)
	s.create(t, "web", 120)
	o := New(0)
	api := &pageWatch{APIClient: s.client}
	for range 3 {
		s.snapshotOf(t, o, api)
	}
	if l, p := api.counts(); l != 3 || p != 0 {
		t.Fatalf("%d whole lists and %d pages for 3 polls; one list per poll is cheaper here", l, p)
	}
}

// pageWatch counts the list calls, the pages, and the passes through a project's pages (page 1
// starts one) that read some instance twice: those in which a row moved while paging, and
// another was skipped.
type pageWatch struct {
	*talis.APIClient
	mu          sync.Mutex
	lists       int
	pages       int
	seen        map[uint]bool
	movedPasses int
	passes      int
}

func (w *pageWatch) counts() (lists, pages int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lists, w.pages
}

func (w *pageWatch) ScanInstances(ctx context.Context, opts *talis.ListOptions, fn func(*talis.Instance) error) error {
	w.mu.Lock()
	w.lists++
	w.mu.Unlock()
	return w.APIClient.ScanInstances(ctx, opts, fn)
}

func (w *pageWatch) ListProjectInstances(ctx context.Context, p talis.ProjectListInstancesParams) ([]*talis.Instance, error) {
	rows, err := w.APIClient.ListProjectInstances(ctx, p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pages++
	if p.Page == 1 {
		w.seen, w.passes = map[uint]bool{}, w.passes+1
	}
	moved := false
	for _, in := range rows {
		moved = moved || w.seen[in.ID]
		w.seen[in.ID] = true
	}
	if moved {
		w.movedPasses++
	}
	return rows, err
}

// The emulator lists rows in PostgreSQL's heap order, where a row that changes may move to the
// end while a client pages: a page then skips a row. A snapshot built from such a pass would
// lack an instance that exists, which a set reads as terminated and replaces (a duplicate).
// Polled while instances are created and change state, every snapshot must hold every
// instance Talis had when its list began.
func TestNoSnapshotMissesAnInstanceWhileRowsMoveBetweenPages(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1, Seed: 42,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: 3 * time.Millisecond, Ready: 3 * time.Millisecond, Spread: 1}}, 3000)
	s.create(t, "seed", 10)
	watch := &pageWatch{APIClient: s.client}
	o := New(0)
	s.snapshotOf(t, o, watch) // measures the endpoint: polls page from now on

	done := make(chan struct{})
	defer func() { <-done }() // its t.Error must come before the test ends
	go func() {
		defer close(done)
		for i := range 150 {
			s.create(t, fmt.Sprint("web-", i), 2)
			time.Sleep(time.Millisecond)
		}
	}()
	polls := 0
	for running := true; running; polls++ {
		select {
		case <-done:
			running = false
		default:
		}
		snap := s.snapshotOf(t, o, watch)
		got := ids(snap.Project(s.project.ID))
		for id := range s.live(snap.StartedAt) {
			if !got[id] {
				t.Fatalf("poll %d: instance %d existed when the list began and is missing from the snapshot", polls, id)
			}
		}
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	t.Logf("%d polls: %d passes through pages, %d of them read a row twice; %d whole lists", polls, watch.passes, watch.movedPasses, watch.lists)
	if watch.movedPasses == 0 {
		t.Fatal("no pass saw a row move: the test did not exercise what it is for")
	}
	if watch.passes-watch.movedPasses == 0 {
		t.Fatal("no pass was complete: the pages were never used")
	}
}

// A pass that fails (here: Talis no longer finds the project by name) must not cost a poll:
// the whole list serves it, and the endpoint stops paging for a while instead of failing
// a call on every poll.
func TestAFailedPassFallsBackToTheWholeListAndPauses(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1, StableListOrder: true,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond}}, 2000)
	s.create(t, "web", 3)
	o := New(0)
	api := &pageWatch{APIClient: s.client}
	s.snapshotOf(t, o, api)
	if err := s.client.DeleteProject(context.Background(), talis.ProjectDeleteParams{Name: s.project.Name, OwnerID: s.project.OwnerID}); err != nil {
		t.Fatal(err)
	}
	snap := s.snapshotOf(t, o, api)
	if got := len(snap.Project(s.project.ID)); got != 3 {
		t.Fatalf("after a failed pass the snapshot has %d instances, want the 3 the whole list shows", got)
	}
	s.snapshotOf(t, o, api)
	if lists, pages := api.counts(); lists != 3 || pages != 1 {
		t.Fatalf("%d whole lists and %d pages over 3 polls; want 3 lists and the one failed page", lists, pages)
	}
}

// Paging is many calls where a whole list is one: a client whose rate limiter has no room for
// twice a pass's pages lists whole, so that paging never holds a create back.
func TestListsWholeWhenTheRateLimitHasNoRoomForThePages(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1, StableListOrder: true,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond}}, 2000)
	s.create(t, "web", 120) // 3 pages: a pass needs room for 6 requests
	for _, tc := range []struct {
		burst       int
		wantPages   bool
		description string
	}{
		{burst: 5, wantPages: false, description: "room for 5 requests"},
		{burst: 50, wantPages: true, description: "room for 50 requests"},
	} {
		c, err := talis.NewClient(&talis.Options{BaseURL: s.url, RateLimit: 1000, Burst: tc.burst})
		if err != nil {
			t.Fatal(err)
		}
		api := &pageWatch{APIClient: c}
		o := New(0)
		for range 3 {
			s.snapshotOf(t, o, api)
		}
		if lists, pages := api.counts(); (pages > 0) != tc.wantPages || lists+pages/3 != 3 {
			t.Errorf("%s: %d whole lists and %d pages over 3 polls, want pages: %v", tc.description, lists, pages, tc.wantPages)
		}
	}
}

// wrongProject answers a project's pages with another project's rows, as a status naming one
// project by name and another by ID would get: the pass must not be taken for that project.
type wrongProject struct{ *talis.APIClient }

func (w wrongProject) ListProjectInstances(ctx context.Context, p talis.ProjectListInstancesParams) ([]*talis.Instance, error) {
	rows, err := w.APIClient.ListProjectInstances(ctx, p)
	for _, in := range rows {
		in.ProjectID++
	}
	return rows, err
}

func TestAPassOfRowsOfAnotherProjectIsNotTaken(t *testing.T) {
	s := newSharedEmulator(t, emulator.Config{TasksPerSecond: -1, StableListOrder: true,
		Delays: emulator.Delays{Pickup: time.Millisecond, Create: time.Millisecond, Ready: time.Millisecond}}, 2000)
	s.create(t, "web", 3)
	o := New(0)
	api := wrongProject{s.client}
	s.snapshotOf(t, o, api)
	snap := s.snapshotOf(t, o, api)
	if got := len(snap.Project(s.project.ID)); got != 3 {
		t.Fatalf("the snapshot has %d instances of the project, want the 3 the whole list shows", got)
	}
}
