package project

import (
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
)

// sweeps is the reconciler's memory of its sweeps: per TalisProject, where its Talis project
// lives and the strays it tracks; and the names of sets recently seen, for messages.
type sweeps struct {
	mu       sync.Mutex
	projects map[client.ObjectKey]*projectSweep
	names    map[string]knownName // set identity → name
}

type projectSweep struct {
	endpoint string
	api      observer.Lister
	armFrom  time.Time // when this process began recording status.sweepAfterID: its list starts later
	// askedFrom is the notBefore of a list the sweep asked for and has not had yet: the list
	// that wakes the project for it is recent enough, however long the reconcile took to get
	// back here (its project.get waits on the Talis client's rate limit).
	askedFrom time.Time
	tracker   strayTracker
}

type knownName struct {
	name string
	seen time.Time
}

// sweepWaiter and tickWaiter are the sweep's identities in the observer: distinct types, so a
// project never takes the place of a set of the same name there.
type sweepWaiter struct{ key client.ObjectKey }
type tickWaiter struct{ endpoint string }

// watchLocked notes where a project's Talis project lives; s.mu is held.
func (s *sweeps) watchLocked(key client.ObjectKey, conn *talisconn.Connection) *projectSweep {
	if s.projects == nil {
		s.projects = map[client.ObjectKey]*projectSweep{}
	}
	ps := s.projects[key]
	if ps == nil || ps.endpoint != conn.Key {
		ps = &projectSweep{}
		s.projects[key] = ps
	}
	ps.endpoint, ps.api = conn.Key, conn.Client
	return ps
}

// unwatch forgets a project: gone, paused, or no longer swept.
func (s *sweeps) unwatch(key client.ObjectKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.projects, key)
}

// remember keeps the name of a set under each of its identities.
func (s *sweeps) remember(cluster string, set *infrav1.TalisInstanceSet, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rememberLocked(cluster, set, now)
}

func (s *sweeps) rememberLocked(cluster string, set *infrav1.TalisInstanceSet, now time.Time) {
	if s.names == nil {
		s.names = map[string]knownName{}
	}
	for _, id := range identitiesOf(cluster, set) {
		s.names[id] = knownName{name: set.Name, seen: now}
	}
}

// nameOfLocked is the name of the set an identity was last seen with; "" if unknown.
func (s *sweeps) nameOfLocked(identity string) string { return s.names[identity].name }

// forgetNames drops the names of sets not seen for an hour.
func (s *sweeps) forgetNames(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.names {
		if now.Sub(n.seen) > shared.OrphanRecordKeep {
			delete(s.names, id)
		}
	}
}

type endpointSweep struct {
	api  observer.Lister
	keys []client.ObjectKey
}

func (s *sweeps) endpoints() map[string]*endpointSweep {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*endpointSweep{}
	for key, ps := range s.projects {
		ep := out[ps.endpoint]
		if ep == nil {
			ep = &endpointSweep{api: ps.api}
			out[ps.endpoint] = ep
		}
		ep.keys = append(ep.keys, key)
	}
	return out
}

// tracks reports whether the project's sweep already tracks the instance.
func (s *sweeps) tracks(key client.ObjectKey, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projects[key]
	return ps != nil && ps.tracker.strays[id] != nil
}
