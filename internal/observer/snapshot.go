// Package observer shares one Talis instance list among every set that talks to the same Talis
// endpoint: API calls are the scarce resource, so a poll is one list call, not one call per
// instance or per set.
package observer

import (
	"fmt"
	"strings"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Snapshot is every live (not terminated) instance of the projects it covers seen by one list
// call, grouped by project. Talis never deletes instance rows, so an instance of a covered
// project missing from a snapshot that started after the instance was created has been
// terminated.
type Snapshot struct {
	// StartedAt is when the list call was sent: everything created before it is in the snapshot.
	StartedAt time.Time
	byProject map[uint][]*Instance
	// projects are the projects whose rows are kept, those the operator's objects asked for
	// when the call was sent; nil keeps every row. Talis's list holds every owner's instances:
	// other people's rows are dropped as they are decoded, so they cost neither heap nor the
	// row bound, and when they are most of the list, polls page through these projects
	// instead (narrow.go).
	projects map[uint]bool

	endpoint string // key of the endpoint, for errors
	rows     int
	maxRows  int

	// slab holds the kept rows, allocated a block at a time; lastTags lets the rows of one
	// create, listed side by side with the same tags, share one copy of them.
	slab     []Instance
	lastTags []string
}

// Instance is what a snapshot keeps of a listed row: the fields the reconcilers read. Two
// snapshots of every instance of an endpoint are alive while a list replaces the last one,
// and a whole talis.Instance is mostly timestamps, volumes and sizes nobody reads here.
type Instance struct {
	ID                 uint
	ProjectID          uint
	ProviderInstanceID int
	Name               string
	PublicIP           string
	Status             talis.InstanceStatus
	Tags               []string
}

const slabRows = 256

func newSnapshot(startedAt time.Time, endpoint string, maxRows int, projects map[uint]bool) *Snapshot {
	return &Snapshot{StartedAt: startedAt, byProject: map[uint][]*Instance{}, endpoint: endpoint, maxRows: maxRows, projects: projects}
}

// Covers reports whether the snapshot kept the rows of a project: only then does an instance
// missing from it say anything. Project 0 stands for none in particular.
func (s *Snapshot) Covers(projectID uint) bool {
	return projectID == 0 || s.projects == nil || s.projects[projectID]
}

// add keeps a trimmed copy of a live row of a covered project; it is handed each row of the
// list as it is decoded. More such rows than maxRows fail the list: the snapshot would be
// incomplete, and a set must never take a missing instance for a terminated one.
func (s *Snapshot) add(in *talis.Instance) error {
	if in.Status == talis.InstanceStatusTerminated || s.projects != nil && !s.projects[in.ProjectID] {
		return nil
	}
	if s.maxRows > 0 && s.rows >= s.maxRows {
		return fmt.Errorf("the instance list of %s has more than %d live instances in the operator's projects, the most it keeps per Talis endpoint: "+
			"it does not answer like Talis, or holds more instances than the operator is built for", s.endpoint, s.maxRows)
	}
	s.rows++
	s.byProject[in.ProjectID] = append(s.byProject[in.ProjectID], s.compact(in))
	return nil
}

// Project returns the live instances of a project, none for a project the snapshot does not
// cover (Covers). Callers must not modify them.
func (s *Snapshot) Project(projectID uint) []*Instance { return s.byProject[projectID] }

// Bounds on what a snapshot keeps of one row. The reconcilers record at most 64 bytes of a
// name and 45 of an IP, and match instances by tags of at most 128
// bytes (a set's own tags and the operator's); 40 tags is the most a set gives an instance
// (32 in its spec, the operator's few).
const (
	maxFieldBytes = 256
	maxTagBytes   = 256
	maxTags       = 64
)

// compact keeps the fields the reconcilers read. Strings beyond the bounds above are cut (and
// copied, so the long original is not kept alive); tags beyond them are dropped, as they can be
// no set's.
func (s *Snapshot) compact(in *talis.Instance) *Instance {
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]Instance, 0, slabRows)
	}
	s.slab = append(s.slab, Instance{ID: in.ID, ProjectID: in.ProjectID, ProviderInstanceID: in.ProviderInstanceID,
		Name: clip(in.Name), PublicIP: clip(in.PublicIP), Status: status(in.Status), Tags: s.keptTags(in.Tags)})
	return &s.slab[len(s.slab)-1]
}

func clip(s string) string {
	if len(s) <= maxFieldBytes {
		return s
	}
	return strings.Clone(s[:maxFieldBytes])
}

func (s *Snapshot) keptTags(tags []string) []string {
	n, same := 0, s.lastTags != nil
	for _, t := range tags {
		if keptTag(t, n) {
			same = same && n < len(s.lastTags) && s.lastTags[n] == t
			n++
		}
	}
	if same && n == len(s.lastTags) {
		return s.lastTags
	}
	kept := make([]string, 0, n)
	for _, t := range tags {
		if keptTag(t, len(kept)) {
			kept = append(kept, t)
		}
	}
	s.lastTags = kept
	return kept
}

func keptTag(t string, keptSoFar int) bool { return len(t) <= maxTagBytes && keptSoFar < maxTags }

// status shares one string per known status instead of keeping one per row.
func status(s talis.InstanceStatus) talis.InstanceStatus {
	for _, known := range knownStatuses {
		if s == known {
			return known
		}
	}
	return talis.InstanceStatus(clip(string(s)))
}

var knownStatuses = []talis.InstanceStatus{talis.InstanceStatusReady, talis.InstanceStatusPending,
	talis.InstanceStatusCreated, talis.InstanceStatusProvisioning, talis.InstanceStatusUnknown}
