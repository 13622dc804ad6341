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
	byProject map[uint][]*talis.Instance
	// projects are the projects whose rows are kept, those the operator's objects asked for
	// when the call was sent; nil keeps every row. Talis's list holds every owner's instances
	// and cannot be narrowed safely (see docs/benchmarks.md): other people's rows are dropped
	// as they are decoded, so they cost neither heap nor the row bound.
	projects map[uint]bool

	endpoint string // key of the endpoint, for errors
	rows     int
	maxRows  int
}

func newSnapshot(startedAt time.Time, endpoint string, maxRows int, projects map[uint]bool) *Snapshot {
	return &Snapshot{StartedAt: startedAt, byProject: map[uint][]*talis.Instance{}, endpoint: endpoint, maxRows: maxRows, projects: projects}
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
	s.byProject[in.ProjectID] = append(s.byProject[in.ProjectID], compact(in))
	return nil
}

// Project returns the live instances of a project, none for a project the snapshot does not
// cover (Covers). Callers must not modify them.
func (s *Snapshot) Project(projectID uint) []*talis.Instance { return s.byProject[projectID] }

// Bounds on what a snapshot keeps of one row. The reconcilers record at most 64 bytes of a
// name, 45 of an IP and 128 of a provider id, and match instances by tags of at most 128
// bytes (a set's own tags and the operator's); 40 tags is the most a set gives an instance
// (32 in its spec, the operator's few).
const (
	maxFieldBytes = 256
	maxTagBytes   = 256
	maxTags       = 64
)

// compact keeps the fields the reconcilers read: a snapshot of every instance of an endpoint
// is held between list calls, and volumes, sizes and timestamps are most of a row. Strings
// beyond the bounds above are cut (and copied, so the long original is not kept alive); tags
// beyond them are dropped, as they can be no set's.
func compact(in *talis.Instance) *talis.Instance {
	return &talis.Instance{ID: in.ID, OwnerID: in.OwnerID, ProjectID: in.ProjectID, Name: clip(in.Name),
		ProviderID: clip(in.ProviderID), ProviderInstanceID: in.ProviderInstanceID, PublicIP: clip(in.PublicIP),
		Tags: keptTags(in.Tags), Status: status(in.Status), CreatedAt: in.CreatedAt}
}

func clip(s string) string {
	if len(s) <= maxFieldBytes {
		return s
	}
	return strings.Clone(s[:maxFieldBytes])
}

func keptTags(tags []string) []string {
	n := 0
	for _, t := range tags {
		if len(t) <= maxTagBytes {
			n++
		}
	}
	if n == len(tags) && n <= maxTags {
		return tags
	}
	kept := make([]string, 0, min(n, maxTags))
	for _, t := range tags {
		if len(t) <= maxTagBytes && len(kept) < maxTags {
			kept = append(kept, t)
		}
	}
	return kept
}

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
