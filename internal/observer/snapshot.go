// Package observer shares one Talis instance list among every set that talks to the same Talis
// endpoint: API calls are the scarce resource, so a poll is one list call, not one call per
// instance or per set.
package observer

import (
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Snapshot is every live (not terminated) instance seen by one list call, grouped by project.
// Talis never deletes instance rows, so an instance missing from a snapshot that started after
// the instance was created has been terminated.
type Snapshot struct {
	// StartedAt is when the list call was sent: everything created before it is in the snapshot.
	StartedAt time.Time
	byProject map[uint][]*talis.Instance
}

func newSnapshot(startedAt time.Time) *Snapshot {
	return &Snapshot{StartedAt: startedAt, byProject: map[uint][]*talis.Instance{}}
}

// add keeps a trimmed copy of a live row; it is handed each row of the list as it is decoded.
func (s *Snapshot) add(in *talis.Instance) error {
	if in.Status != talis.InstanceStatusTerminated {
		s.byProject[in.ProjectID] = append(s.byProject[in.ProjectID], compact(in))
	}
	return nil
}

// Project returns the live instances of a project. Callers must not modify them.
func (s *Snapshot) Project(projectID uint) []*talis.Instance { return s.byProject[projectID] }

// compact keeps the fields the reconcilers read: a snapshot of every instance of an endpoint
// is held between list calls, and volumes, sizes and timestamps are most of a row.
func compact(in *talis.Instance) *talis.Instance {
	return &talis.Instance{ID: in.ID, OwnerID: in.OwnerID, ProjectID: in.ProjectID, Name: in.Name,
		ProviderID: in.ProviderID, ProviderInstanceID: in.ProviderInstanceID, PublicIP: in.PublicIP,
		Tags: in.Tags, Status: in.Status, CreatedAt: in.CreatedAt}
}
