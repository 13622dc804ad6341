package observer

import (
	"context"
	"fmt"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Project names a Talis project as callers know it: the ID its instance rows carry, and the
// name and owner project.listInstances looks it up by.
type Project struct {
	ID      uint
	Name    string
	OwnerID uint
}

// ProjectPager is the narrower list an endpoint's client may offer: one project's rows
// (terminated ones included), a page at a time.
type ProjectPager interface {
	ListProjectInstances(ctx context.Context, params talis.ProjectListInstancesParams) ([]*talis.Instance, error)
}

// A shared Talis lists every owner's instances in each GET /api/v1/instances. When the last
// such list held many more rows than the operator's projects have, a poll pages through those
// projects instead (see docs/benchmarks.md, "Foreign instances").
//
// Paging is unordered and rows move between pages as they change, so a page can skip a row;
// a skipped row would read as a terminated instance, and a duplicate create would follow. It
// cannot happen unnoticed: the pages of one project tile the positions [0, n) of the rows
// there are when the last, short page is read, and rows are never deleted, so every row
// skipped is matched by one read twice. A pass that reads no ID twice is complete for every
// row that existed when it began; any other pass is dropped for the whole-endpoint list.
const (
	// narrowWhen: page only when the whole list holds more than this many times the rows the
	// pages would (ours, plus a page's worth per project for the calls' own cost).
	narrowWhen = 2
	// narrowPause is how long an endpoint lists whole after a pass that failed (a project
	// Talis no longer finds, a refusal): each failure costs a call besides the list.
	narrowPause = 5 * time.Minute
)

// requestBudget is the rate limit an endpoint's client keeps (talis.APIClient has one). A pass
// is many calls where a whole list is one: it is made only while the limiter has room for
// twice its pages, so that paging never delays a create or terminate behind it; a poll that
// would is one whole list instead.
type requestBudget interface {
	RequestsAvailable() float64
}

// narrowing is what an endpoint measured of its two ways of listing.
type narrowing struct {
	allRows   int       // rows of every owner in its last whole list (0: none yet)
	pagedRows int       // rows its last complete pass read, terminated ones included
	pauseTill time.Time // no pass before this (one failed)
}

// pagesFor returns the projects a poll of ep should page through instead of listing the
// whole endpoint, and the client to page with, or nil; o.mu is held.
func (o *Observer) pagesFor(ep *endpoint) (ProjectPager, []Project) {
	n := &ep.narrow
	pager, ok := ep.api.(ProjectPager)
	if !ok || n.allRows == 0 || len(ep.projects) == 0 || o.now().Before(n.pauseTill) {
		return nil, nil
	}
	own := n.pagedRows
	if ep.latest != nil {
		own = max(own, ep.latest.rows)
	}
	if n.allRows <= narrowWhen*(own+talis.RPCPageSize*len(ep.projects)) {
		return nil, nil
	}
	pages := own/talis.RPCPageSize + len(ep.projects)
	if b, ok := ep.api.(requestBudget); ok && b.RequestsAvailable() < float64(2*pages) {
		return nil, nil
	}
	refs := make([]Project, 0, len(ep.projects))
	for _, p := range ep.projects {
		if p.Name == "" || p.OwnerID == 0 {
			return nil, nil
		}
		refs = append(refs, p)
	}
	return pager, refs
}

// passOutcome is what one pass through the projects' pages found.
type passOutcome struct {
	rows     int  // rows read, terminated ones included
	complete bool // no row was read twice: snap holds every live row
}

// pageProjects reads every page of each project into snap. An error or an incomplete pass
// leaves snap unusable. (talis.APIClient.AllProjectInstances pages too, but drops a repeated
// row silently, and a repeat is the one sign that a row was skipped.)
func pageProjects(ctx context.Context, pager ProjectPager, refs []Project, maxRows int, snap *Snapshot) (passOutcome, error) {
	var out passOutcome
	seen := map[uint]struct{}{}
	for _, ref := range refs {
		for page := 1; ; page++ {
			rows, err := pager.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: ref.Name, OwnerID: ref.OwnerID, Page: page})
			if err != nil {
				return out, err
			}
			for _, in := range rows {
				if _, dup := seen[in.ID]; dup {
					return out, nil // a row moved while we paged: one may have been skipped
				}
				if in.ProjectID != ref.ID {
					return out, fmt.Errorf("project %q of owner %d lists instance %d of project %d, not of project %d", ref.Name, ref.OwnerID, in.ID, in.ProjectID, ref.ID)
				}
				seen[in.ID] = struct{}{}
				out.rows++
				if maxRows > 0 && out.rows > 2*maxRows {
					return out, fmt.Errorf("the projects of %s hold more than %d instances, terminated ones included", snap.endpoint, 2*maxRows)
				}
				if err := snap.add(in); err != nil {
					return out, err
				}
			}
			if len(rows) < talis.RPCPageSize {
				break
			}
		}
	}
	out.complete = true
	return out, nil
}

// pass pages through f.pages, if any, into a snapshot: complete, or to be replaced by a list
// of the whole endpoint.
func (o *Observer) pass(ctx context.Context, key string, f *fetch) (*Snapshot, passOutcome, error) {
	if f.pager == nil {
		return nil, passOutcome{}, nil
	}
	snap := newSnapshot(f.startedAt, key, o.maxRows, f.projects)
	out, err := pageProjects(ctx, f.pager, f.pages, o.maxRows, snap)
	return snap, out, err
}

// measured keeps what a poll learnt of its endpoint's two ways of listing; o.mu is held.
func (o *Observer) measured(ep *endpoint, pass passOutcome, passErr error, allRows int, listErr error) {
	n := &ep.narrow
	switch {
	case passErr != nil:
		n.pauseTill = o.now().Add(narrowPause)
	case pass.complete:
		n.pagedRows = pass.rows
	}
	if !pass.complete && listErr == nil {
		n.allRows = allRows
	}
}
