package controller

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// driftWatch looks at each endpoint's shared instance list on its own clock and wakes only the
// steady sets whose instances changed there (terminated, another state, another IP). An
// outside change is so seen within Timing.DriftPoll at one list call per endpoint, however many
// sets there are, while steady sets themselves reconcile only every Timing.Resync.
type driftWatch struct {
	mu        sync.Mutex
	sets      map[client.ObjectKey]watchedSet
	endpoints map[string]*driftEndpoint
}

type watchedSet struct {
	endpoint  string
	project   uint
	seenAt    time.Time // start of the snapshot the set last acted on
	instances map[int64]instanceView
}

type instanceView struct{ state, ip string }

type driftEndpoint struct {
	api      observer.Lister
	compared time.Time // start of the last snapshot compared
	sets     int
}

// driftWaiter is the watch's identity in the observer, one per endpoint.
type driftWaiter struct{ endpoint string }

// watch records what a steady set expects of Talis.
func (d *driftWatch) watch(key client.ObjectKey, conn *talisconn.Connection, projectID int64, st *infrav1.TalisInstanceSetStatus, seenAt time.Time) {
	ws := watchedSet{endpoint: conn.Key, project: uint(projectID), seenAt: seenAt, instances: map[int64]instanceView{}}
	for _, in := range st.Instances {
		if in.TerminatedAt == nil && in.State != string(talis.InstanceStatusTerminated) {
			ws.instances[in.ID] = instanceView{state: in.State, ip: in.PublicIP}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sets == nil {
		d.sets, d.endpoints = map[client.ObjectKey]watchedSet{}, map[string]*driftEndpoint{}
	}
	d.dropLocked(key)
	d.sets[key] = ws
	ep := d.endpoints[conn.Key]
	if ep == nil {
		ep = &driftEndpoint{}
		d.endpoints[conn.Key] = ep
	}
	ep.api = conn.Client
	ep.sets++
}

// unwatch stops watching a set: it is progressing (and polls by itself) or gone.
func (d *driftWatch) unwatch(key client.ObjectKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropLocked(key)
}

func (d *driftWatch) dropLocked(key client.ObjectKey) {
	ws, ok := d.sets[key]
	if !ok {
		return
	}
	delete(d.sets, key)
	if ep := d.endpoints[ws.endpoint]; ep != nil {
		if ep.sets--; ep.sets <= 0 {
			delete(d.endpoints, ws.endpoint)
		}
	}
}

// run asks, every interval, each endpoint with steady sets for a list no older than interval
// (one a reconcile made is as good) that it has not compared yet, and compares it once it is
// there.
func (d *driftWatch) run(ctx context.Context, interval time.Duration, obs *observer.Observer, wake func(client.ObjectKey)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for key, ep := range d.due(now, interval) {
				d.look(key, ep.api, ep.notBefore, obs, wake)
			}
		}
	}
}

type dueEndpoint struct {
	api       observer.Lister
	notBefore time.Time
}

// due says which endpoints to compare now, and the oldest list start that will do: within the
// last interval and after the list compared last. The list the previous tick fetched is younger
// than the interval too; taking it again would see a change only every other interval.
func (d *driftWatch) due(now time.Time, interval time.Duration) map[string]dueEndpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]dueEndpoint{}
	for key, ep := range d.endpoints {
		if now.Sub(ep.compared) >= interval/2 {
			notBefore := now.Add(-interval)
			if next := ep.compared.Add(time.Nanosecond); next.After(notBefore) {
				notBefore = next
			}
			out[key] = dueEndpoint{api: ep.api, notBefore: notBefore}
		}
	}
	return out
}

func (d *driftWatch) look(endpoint string, api observer.Lister, notBefore time.Time, obs *observer.Observer, wake func(client.ObjectKey)) {
	w := driftWaiter{endpoint}
	snap, err := obs.Get(endpoint, api, notBefore, w, func() {
		if snap, err := obs.Get(endpoint, api, notBefore, w, nil); err == nil {
			d.compare(endpoint, snap, wake)
		}
	})
	if err == nil {
		d.compare(endpoint, snap, wake)
	}
}

// compare wakes the sets on endpoint whose recorded instances the snapshot contradicts; they
// leave the watch until they are steady again.
func (d *driftWatch) compare(endpoint string, snap *observer.Snapshot, wake func(client.ObjectKey)) {
	d.mu.Lock()
	var changed []client.ObjectKey
	if ep := d.endpoints[endpoint]; ep != nil && snap.StartedAt.After(ep.compared) {
		ep.compared = snap.StartedAt
		byProject := map[uint]map[int64]instanceView{}
		for key, ws := range d.sets {
			if ws.endpoint != endpoint || !snap.StartedAt.After(ws.seenAt) {
				continue
			}
			live := byProject[ws.project]
			if live == nil {
				live = map[int64]instanceView{}
				for _, in := range snap.Project(ws.project) {
					live[int64(in.ID)] = instanceView{state: string(in.Status), ip: in.PublicIP}
				}
				byProject[ws.project] = live
			}
			for id, want := range ws.instances {
				if got, ok := live[id]; !ok || got != want {
					changed = append(changed, key)
					break
				}
			}
		}
		for _, key := range changed {
			d.dropLocked(key)
		}
	}
	d.mu.Unlock()
	for _, key := range changed {
		wake(key)
	}
}
