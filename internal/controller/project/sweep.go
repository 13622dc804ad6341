package project

import (
	"context"
	"errors"
	"strconv"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
)

// The sweep terminates strays (strays.go): live instances tagged for sets of the project that
// no longer exist. Every Timing.DriftPoll it takes each endpoint's shared instance list (the one
// the sets' drift watch takes, when there is one within the interval) and wakes the projects
// in which it sees a stray it does not track yet; the project's reconcile then tracks, waits
// out the grace, terminates, tells (a Warning event, the StrayInstances condition, a metric) and
// looks again every interval while it tracks any.

// maxStrayTerminate is the most instances one terminate call of the sweep names.
const maxStrayTerminate = 100

// minStrayGrace is the least Timing.StrayGrace the sweep waits, whatever it is set to: two
// lists, this far apart at least, must show an instance as a stray.
const minStrayGrace = time.Second

// sweepEvery is how often a project is swept: the drift interval, or the resync without one.
func (r *Reconciler) sweepEvery() time.Duration {
	if r.Timing.DriftPoll > 0 {
		return r.Timing.DriftPoll
	}
	return r.Timing.Resync
}

// sweepOutcome is what a project's sweep found.
type sweepOutcome struct {
	// message is what the project's condition says about the strays; "" when there are none.
	message string
	// strays are the strays the last list showed live.
	strays []int64
	// problem is set when a terminate call failed.
	problem *shared.Health
	// requeue says when to look again; 0 when the sweep tracks nothing.
	requeue time.Duration
}

// sweep takes the newest instance list of the project's endpoint (no older than one sweep
// interval), records status.sweepAfterID on the first one, drops entries of
// status.orphanedSets that protect nothing any more, and terminates the strays that are due.
// It changes p.Status only in those two fields; the caller writes it.
func (r *Reconciler) sweep(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject) sweepOutcome {
	if r.Observer == nil || p.Status.ProjectID == 0 || !r.Claims.Holds(p) {
		return sweepOutcome{} // only the project status names once it is verified as this object's
	}
	key := client.ObjectKeyFromObject(p)
	every := r.sweepEvery()
	now := time.Now()
	notBefore := now.Add(-every)
	r.sweeps.mu.Lock()
	ps := r.sweeps.watchLocked(key, conn)
	arming := p.Status.SweepAfterID == nil
	if arming {
		// Everything the Talis project holds now must be at or below the mark: a list that
		// started after this moment, which follows the takeover, shows it all.
		if ps.armFrom.IsZero() {
			ps.armFrom = now
		}
		notBefore = ps.armFrom
	} else if !ps.askedFrom.IsZero() && ps.askedFrom.Before(notBefore) {
		// Judged by now - every again, a list slower than every would never do: each wake
		// would ask for another list and another project.get, for as long as lists are slow.
		notBefore = ps.askedFrom
	}
	r.sweeps.mu.Unlock()

	log := ctrl.LoggerFrom(ctx)
	snap, err := r.Observer.GetProject(conn.Key, conn.Client, shared.ObservedProject(p), notBefore, sweepWaiter{key}, func() { r.waker.Wake(key) })
	r.sweeps.mu.Lock()
	if !errors.Is(err, observer.ErrPending) {
		ps.askedFrom = time.Time{}
	} else if ps.askedFrom.IsZero() {
		ps.askedFrom = notBefore
	}
	r.sweeps.mu.Unlock()
	if err != nil {
		if !errors.Is(err, observer.ErrPending) {
			log.V(1).Info("sweep: no instance list", "error", err.Error()) // the sets report it
		}
		return r.remembered(key, every)
	}
	live := snap.Project(uint(p.Status.ProjectID))
	if arming {
		mark := highestID(live)
		p.Status.SweepAfterID = &mark
		r.sweeps.mu.Lock()
		ps.armFrom = time.Time{}
		r.sweeps.mu.Unlock()
		log.Info("sweep: instances up to this ID predate the sweep and are never swept", "sweepAfterID", mark)
		return sweepOutcome{}
	}
	var sets infrav1.TalisInstanceSetList
	if err := r.List(ctx, &sets, client.InNamespace(p.Namespace), client.MatchingFields{shared.ProjectRefIndex: p.Name}); err != nil {
		return r.remembered(key, every)
	}
	sole, err := r.soleClaimant(ctx, p)
	if err != nil {
		return r.remembered(key, every)
	}
	if !sole {
		// Another TalisProject of this cluster names the same Talis project: its sets are not
		// this project's, so nothing there can be told apart as a stray.
		r.sweeps.mu.Lock()
		ps.tracker = strayTracker{}
		r.sweeps.mu.Unlock()
		return sweepOutcome{}
	}
	pruneOrphaned(&p.Status, live, snap.StartedAt, sets.Items)
	view := r.viewOf(p, sets.Items, now)
	cands := view.candidates(live)
	liveIDs := make(map[int64]bool, len(live))
	for _, in := range live {
		liveIDs[int64(in.ID)] = true
	}

	r.sweeps.mu.Lock()
	ps.tracker.fold(snap.StartedAt, cands, liveIDs, r.Timing.TerminateSettle)
	due := ps.tracker.due(max(r.Timing.StrayGrace, minStrayGrace), r.Timing.TerminateRetry)
	r.sweeps.mu.Unlock()
	if len(due) > 0 {
		due = r.stillStray(ctx, p, due)
	}

	var problem *shared.Health
	for len(due) > 0 {
		n := min(len(due), maxStrayTerminate)
		if err := r.terminateStrays(ctx, conn, p, ps, due[:n]); err != nil {
			h := shared.Problem("terminating stray instances", err)
			problem = &h
			break
		}
		due = due[n:]
	}
	out := r.remembered(key, every)
	out.problem = problem
	return out
}

// after is when to look again: at the latest d, sooner while the sweep tracks strays.
func (o sweepOutcome) after(d time.Duration) time.Duration {
	if o.requeue > 0 && o.requeue < d {
		return o.requeue
	}
	return d
}

// stillStray keeps the instances whose identity the project, read past the cache, does not
// record as orphaned: the set reconciler writes the record right before the set goes, and the
// cache may show the set gone before it shows the record.
func (r *Reconciler) stillStray(ctx context.Context, p *infrav1.TalisProject, due []int64) []int64 {
	var fresh infrav1.TalisProject
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), &fresh); err != nil || fresh.UID != p.UID ||
		fresh.Status.SweepAfterID == nil || fresh.Status.ProjectID != p.Status.ProjectID {
		return nil
	}
	orphaned := map[string]bool{}
	for _, e := range fresh.Status.OrphanedSets {
		orphaned[e.Identity] = true
	}
	r.sweeps.mu.Lock()
	defer r.sweeps.mu.Unlock()
	ps := r.sweeps.projects[client.ObjectKeyFromObject(p)]
	if ps == nil {
		return nil
	}
	kept := due[:0]
	for _, id := range due {
		if st := ps.tracker.strays[id]; st != nil && !orphaned[st.identity] && id > *fresh.Status.SweepAfterID {
			kept = append(kept, id)
		}
	}
	return kept
}

// remembered is the outcome from what the sweep tracks, without a new list.
func (r *Reconciler) remembered(key client.ObjectKey, every time.Duration) sweepOutcome {
	r.sweeps.mu.Lock()
	defer r.sweeps.mu.Unlock()
	ps := r.sweeps.projects[key]
	if ps == nil || len(ps.tracker.strays) == 0 {
		return sweepOutcome{}
	}
	return sweepOutcome{message: ps.tracker.message(r.sweeps.nameOfLocked), strays: ps.tracker.liveIDs(), requeue: every}
}

// viewOf is what makes an instance of p's Talis project a stray: its sets, in any state, protect
// every identity their instances may carry.
func (r *Reconciler) viewOf(p *infrav1.TalisProject, sets []infrav1.TalisInstanceSet, now time.Time) sweepView {
	v := sweepView{after: *p.Status.SweepAfterID, protected: map[string]bool{}, orphaned: map[string]bool{}}
	cluster := r.Conns.ClusterID()
	r.sweeps.mu.Lock()
	defer r.sweeps.mu.Unlock()
	for i := range sets {
		for _, id := range identitiesOf(cluster, &sets[i]) {
			v.protected[id] = true
		}
		r.sweeps.rememberLocked(cluster, &sets[i], now)
	}
	for _, e := range p.Status.OrphanedSets {
		v.orphaned[e.Identity] = true
	}
	return v
}

// terminateStrays sends one terminate call and tells it.
func (r *Reconciler) terminateStrays(ctx context.Context, conn *talisconn.Connection, p *infrav1.TalisProject, ps *projectSweep, ids []int64) error {
	if err := shared.Terminate(ctx, conn, p.Status.ProjectName, ids); err != nil {
		return err
	}
	r.sweeps.mu.Lock()
	first := ps.tracker.sentFor(ids, time.Now())
	identityOf := func(id int64) string { return ps.tracker.strays[id].identity }
	what := describeStrays(ids, identityOf, r.sweeps.nameOfLocked)
	r.sweeps.mu.Unlock()
	metrics.CountStrayTerminations(first)
	ctrl.LoggerFrom(ctx).Info("sweep: terminating stray instances", "instances", ids, "sets", what)
	r.Recorder.Eventf(p, nil, "Warning", infrav1.ReasonStrayInstances, "Terminate",
		"Terminating instance(s) %s: Talis created them after their set was deleted (a create that landed late), and nothing else would ever terminate them", what)
	return nil
}

// soleClaimant reports whether no other TalisProject of this cluster names the same Talis
// project (by ID or name) at the same endpoint.
func (r *Reconciler) soleClaimant(ctx context.Context, p *infrav1.TalisProject) (bool, error) {
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return false, err
	}
	return countClaims(r.Conns, all.Items).sole(r.Conns, p), nil
}

// claimCounts counts the TalisProjects that name each Talis project, by endpoint and ID or name.
type claimCounts map[string]int

func countClaims(conns *talisconn.Registry, projects []infrav1.TalisProject) claimCounts {
	c := claimCounts{}
	for i := range projects {
		o := &projects[i]
		if o.Status.ProjectID == 0 {
			continue
		}
		id, name := claimKeys(conns, o)
		c[id]++
		if name != id {
			c[name]++
		}
	}
	return c
}

func claimKeys(conns *talisconn.Registry, p *infrav1.TalisProject) (byID, byName string) {
	ep := talisconn.NormalURL(conns.Endpoint(p))
	return ep + "#id:" + strconv.FormatInt(p.Status.ProjectID, 10), ep + "#name:" + p.Status.ProjectName
}

func (c claimCounts) sole(conns *talisconn.Registry, p *infrav1.TalisProject) bool {
	id, name := claimKeys(conns, p)
	return c[id] == 1 && c[name] == 1
}

// runSweeps looks for strays every interval until ctx ends.
func (r *Reconciler) runSweeps(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.sweeps.forgetNames(now)
			for endpoint, ep := range r.sweeps.endpoints() {
				r.lookForStrays(ctx, endpoint, ep, now.Add(-every))
			}
		}
	}
}

// lookForStrays takes a list of the endpoint no older than notBefore (the drift watch's, when it
// took one) and wakes the projects it shows a stray in that they do not track yet, or that
// have yet to record status.sweepAfterID.
func (r *Reconciler) lookForStrays(ctx context.Context, endpoint string, ep *endpointSweep, notBefore time.Time) {
	w := tickWaiter{endpoint}
	seen := func(snap *observer.Snapshot, err error) {
		if err == nil {
			r.wakeStrayed(ctx, ep.keys, snap)
		}
	}
	seen(r.Observer.Get(endpoint, ep.api, notBefore, w, func() { seen(r.Observer.Get(endpoint, ep.api, notBefore, w, nil)) }))
}

func (r *Reconciler) wakeStrayed(ctx context.Context, keys []client.ObjectKey, snap *observer.Snapshot) {
	var all infrav1.TalisProjectList
	if err := r.List(ctx, &all); err != nil {
		return
	}
	c := countClaims(r.Conns, all.Items)
	byKey := make(map[client.ObjectKey]*infrav1.TalisProject, len(all.Items))
	for i := range all.Items {
		byKey[client.ObjectKeyFromObject(&all.Items[i])] = &all.Items[i]
	}
	now := time.Now()
	for _, key := range keys {
		p := byKey[key]
		if p == nil {
			r.sweeps.unwatch(key)
			continue
		}
		if !sweepsProject(p) {
			continue
		}
		if p.Status.SweepAfterID == nil {
			r.waker.Wake(key)
			continue
		}
		if !c.sole(r.Conns, p) {
			continue
		}
		if !snap.Covers(uint(p.Status.ProjectID)) {
			r.waker.Wake(key) // its own reconcile asks for a list that keeps its rows
			continue
		}
		var sets infrav1.TalisInstanceSetList
		if err := r.List(ctx, &sets, client.InNamespace(p.Namespace), client.MatchingFields{shared.ProjectRefIndex: p.Name}); err != nil {
			continue
		}
		for _, cand := range r.viewOf(p, sets.Items, now).candidates(snap.Project(uint(p.Status.ProjectID))) {
			if !r.sweeps.tracks(key, cand.id) {
				r.waker.Wake(key)
				break
			}
		}
	}
}

// sweepsProject says whether a project's Talis project is swept at all: it has one, is not paused, and
// is not being deleted with deletionPolicy Orphan (which leaves the project as it is).
func sweepsProject(p *infrav1.TalisProject) bool {
	if p.Status.ProjectID == 0 || shared.IsPaused(p) {
		return false
	}
	return p.DeletionTimestamp.IsZero() || p.Spec.DeletionPolicy != infrav1.DeletionPolicyOrphan
}
