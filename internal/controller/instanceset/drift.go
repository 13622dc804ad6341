package instanceset

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// driftWatch looks at each endpoint's shared instance list on its own clock and wakes only the
// steady sets whose instances changed there (terminated, another state, another IP, or one
// tagged for the set that its status does not know: a late create's arrival). An
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
	identity  string
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
	ws := watchedSet{endpoint: conn.Key, project: uint(projectID), identity: st.Identity, seenAt: seenAt,
		instances: map[int64]instanceView{}}
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

// run compares, every interval, each endpoint with steady sets with a list started at or after
// the tick: a change is so seen within one interval (plus the list call) at one list per
// interval. A list started before the tick, even a fresh one a reconcile made, may just predate
// the change, which would then wait for the next tick.
func (d *driftWatch) run(ctx context.Context, interval time.Duration, obs *observer.Observer, wake func(client.ObjectKey)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			d.tick(now, interval, obs, wake)
		}
	}
}

func (d *driftWatch) tick(now time.Time, interval time.Duration, obs *observer.Observer, wake func(client.ObjectKey)) {
	for key, api := range d.due(now, interval) {
		d.look(key, api, now, obs, wake)
	}
}

func (d *driftWatch) due(now time.Time, interval time.Duration) map[string]observer.Lister {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]observer.Lister{}
	for key, ep := range d.endpoints {
		if now.Sub(ep.compared) >= interval/2 {
			out[key] = ep.api
		}
	}
	return out
}

func (d *driftWatch) look(endpoint string, api observer.Lister, notBefore time.Time, obs *observer.Observer, wake func(client.ObjectKey)) {
	w := driftWaiter{endpoint}
	seen := func(snap *observer.Snapshot, err error) {
		switch {
		case err == nil:
			d.compare(endpoint, snap, wake)
		case talis.IsUnauthorized(err):
			d.wakeAll(endpoint, wake)
		}
	}
	seen(obs.Get(endpoint, api, notBefore, w, func() { seen(obs.Get(endpoint, api, notBefore, w, nil)) }))
}

// wakeAll wakes every steady set of an endpoint whose key Talis refused: each then reads the
// refusal from the observer and says so, within one drift interval of the revocation.
func (d *driftWatch) wakeAll(endpoint string, wake func(client.ObjectKey)) {
	d.mu.Lock()
	var keys []client.ObjectKey
	for key, ws := range d.sets {
		if ws.endpoint == endpoint {
			keys = append(keys, key)
		}
	}
	for _, key := range keys {
		d.dropLocked(key)
	}
	d.mu.Unlock()
	for _, key := range keys {
		wake(key)
	}
}

// compare wakes the sets on endpoint whose recorded instances the snapshot contradicts; they
// leave the watch until they are steady again.
func (d *driftWatch) compare(endpoint string, snap *observer.Snapshot, wake func(client.ObjectKey)) {
	d.mu.Lock()
	var changed []client.ObjectKey
	if ep := d.endpoints[endpoint]; ep != nil && snap.StartedAt.After(ep.compared) {
		ep.compared = snap.StartedAt
		byProject := map[uint]projectView{}
		for key, ws := range d.sets {
			if ws.endpoint != endpoint || !snap.StartedAt.After(ws.seenAt) {
				continue
			}
			if !snap.Covers(ws.project) {
				// The list kept no rows of its project (the endpoint was forgotten meanwhile):
				// the set's own reconcile asks for one that does.
				changed = append(changed, key)
				continue
			}
			pv, ok := byProject[ws.project]
			if !ok {
				pv = viewProject(snap.Project(ws.project))
				byProject[ws.project] = pv
			}
			if pv.contradicts(ws) {
				changed = append(changed, key)
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

// projectView is one project's live instances in a snapshot, and which set each is tagged for.
type projectView struct {
	live   map[int64]instanceView
	tagged map[string][]int64 // set identity → IDs
}

func viewProject(live []*observer.Instance) projectView {
	pv := projectView{live: map[int64]instanceView{}, tagged: map[string][]int64{}}
	for _, in := range live {
		pv.live[int64(in.ID)] = instanceView{state: string(in.Status), ip: in.PublicIP}
		if o, ok := creates.ParseOwnership(in.Tags); ok {
			pv.tagged[o.Identity] = append(pv.tagged[o.Identity], int64(in.ID))
		}
	}
	return pv
}

// contradicts is true when an instance the set expects is gone or changed, or when Talis has
// one tagged for the set that it does not expect (a late create, or one a terminate did not stop).
func (pv projectView) contradicts(ws watchedSet) bool {
	for id, want := range ws.instances {
		if got, ok := pv.live[id]; !ok || got != want {
			return true
		}
	}
	for _, id := range pv.tagged[ws.identity] {
		if _, ok := ws.instances[id]; !ok {
			return true
		}
	}
	return false
}
