package project

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// A stray is a live instance in a project's Talis project that the operator tagged for one of
// the project's TalisInstanceSets which no longer exists: a create that Talis applied after its
// set was gone (a gateway held it past its deadline). Nothing else would ever terminate it. The
// sweep recognises one only by elimination, so every rule here errs on the side of leaving an
// instance alone:
//
//   - it carries the operator's tio-managed tag and exactly one tio-set tag of the form the
//     operator writes (instances made outside Kubernetes are never touched);
//   - no TalisInstanceSet of the project has its identity, in either form (this cluster's, or
//     the legacy one without a cluster) nor as recorded in its status, in whatever state the set
//     is (being deleted, or not reconciled yet): a set re-created under the same name adopts;
//   - its identity is not recorded in status.orphanedSets (deleted with deletionPolicy Orphan);
//   - its Talis ID is above status.sweepAfterID: what the project held when this object took it
//     over may be a predecessor's, left on purpose;
//   - the Talis project is this TalisProject's alone among the cluster's TalisProjects.
//
// It is terminated only once two lists at least Timing.StrayGrace apart have shown it so, and
// only once its create can no longer write over the terminate (it is ready, or older than
// strayProvisioning), like a set's own terminates; a terminate it survives is sent again after
// Timing.TerminateRetry.

// strayProvisioning bounds how long a stray that is not ready is left alone because its create
// may still be running: the default spec.provisioningTimeout, as the set that made it is gone.
const strayProvisioning = 15 * time.Minute

// identityShape is what creates.Identity makes.
var identityShape = regexp.MustCompile(`^[0-9a-f]{20}$`)

// candidate is a live instance that the rules above make a stray.
type candidate struct {
	id       int64
	identity string
	ready    bool
}

// sweepView is what decides which of a Talis project's instances are strays.
type sweepView struct {
	after     int64           // status.sweepAfterID
	protected map[string]bool // identities of the project's existing sets
	orphaned  map[string]bool // status.orphanedSets
}

// setIdentity is the identity of an instance's only tio-set tag, if it carries the operator's
// tags as the operator writes them.
func setIdentity(tags []string) (string, bool) {
	managed, identity, sets := false, "", 0
	for _, t := range tags {
		switch {
		case t == creates.TagManaged:
			managed = true
		case strings.HasPrefix(t, creates.TagSetPrefix):
			identity = strings.TrimPrefix(t, creates.TagSetPrefix)
			sets++
		}
	}
	return identity, managed && sets == 1 && identityShape.MatchString(identity)
}

// candidates are the strays among a project's live instances, in ID order.
func (v sweepView) candidates(live []*observer.Instance) []candidate {
	var out []candidate
	for _, in := range live {
		if int64(in.ID) <= v.after || in.Status == talis.InstanceStatusTerminated {
			continue
		}
		identity, ok := setIdentity(in.Tags)
		if !ok || v.protected[identity] || v.orphaned[identity] {
			continue
		}
		out = append(out, candidate{id: int64(in.ID), identity: identity, ready: in.Status == talis.InstanceStatusReady})
	}
	slices.SortFunc(out, func(a, b candidate) int { return cmp.Compare(a.id, b.id) })
	return out
}

// identitiesOf are every identity under which a set's instances may be tagged.
func identitiesOf(cluster string, s *infrav1.TalisInstanceSet) []string {
	ids := []string{creates.Identity(cluster, s.Namespace, s.Name), creates.Identity("", s.Namespace, s.Name)}
	if s.Status.Identity != "" {
		ids = append(ids, s.Status.Identity)
	}
	return ids
}

// strayState is what the sweep remembers of one stray.
type strayState struct {
	identity  string
	firstSeen time.Time // start of the first list that showed it as a stray
	ready     bool
	live      bool      // in the last list folded in
	sent      time.Time // when Talis last accepted a terminate of it; zero: none yet
	sentReady bool      // it was ready then: its create cannot bring it back
}

// strayTracker is the sweep's memory of one project's strays, between lists. It is only
// memory: a restart forgets it, which only makes the next sweep wait one grace longer.
type strayTracker struct {
	seen   time.Time // start of the last list folded in
	strays map[int64]*strayState
}

// fold takes in a list that started at start: candidates are the strays it shows, live every
// instance it shows live. An instance no longer a candidate while live has been claimed (a set
// of its identity exists again, or it is recorded as orphaned) and is forgotten; one gone from
// the list is forgotten, unless a terminate sent before it was ready may still be undone by its
// create: that one is watched for settle. It reports whether the list was newer than the last.
func (t *strayTracker) fold(start time.Time, cands []candidate, live map[int64]bool, settle time.Duration) bool {
	if !start.After(t.seen) {
		return false
	}
	t.seen = start
	if t.strays == nil {
		t.strays = map[int64]*strayState{}
	}
	now := map[int64]candidate{}
	for _, c := range cands {
		now[c.id] = c
	}
	for id, st := range t.strays {
		if _, ok := now[id]; ok {
			continue
		}
		switch {
		case live[id], st.sent.IsZero(), st.sentReady, start.After(st.sent.Add(settle)):
			delete(t.strays, id)
		default:
			st.live = false
		}
	}
	for id, c := range now {
		st := t.strays[id]
		if st == nil || st.identity != c.identity {
			st = &strayState{identity: c.identity, firstSeen: start}
			t.strays[id] = st
		}
		st.ready, st.live = c.ready, true
	}
	return true
}

// due are the strays to send a terminate for, judged by the last list folded in: seen as strays
// for at least grace, their create done (ready, or past strayProvisioning), and no terminate
// accepted within retry before that list.
func (t *strayTracker) due(grace, retry time.Duration) []int64 {
	var out []int64
	for id, st := range t.strays {
		age := t.seen.Sub(st.firstSeen)
		if !st.live || age < grace || (!st.ready && age <= strayProvisioning) {
			continue
		}
		if !st.sent.IsZero() && !t.seen.After(st.sent.Add(retry)) {
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// sent records that Talis accepted a terminate of ids at now; it returns how many of them had
// none before.
func (t *strayTracker) sentFor(ids []int64, now time.Time) int {
	first := 0
	for _, id := range ids {
		if st := t.strays[id]; st != nil {
			if st.sent.IsZero() {
				first++
			}
			st.sent, st.sentReady = now, st.ready
		}
	}
	return first
}

// describe groups IDs by the set they were tagged for, naming it when known: "57,58 of
// TalisInstanceSet web; 60 of a set with identity 0a1b…".
func describeStrays(ids []int64, identityOf func(int64) string, nameOf func(string) string) string {
	var order []string
	groups := map[string][]int64{}
	for _, id := range ids {
		identity := identityOf(id)
		if _, ok := groups[identity]; !ok {
			order = append(order, identity)
		}
		groups[identity] = append(groups[identity], id)
	}
	parts := make([]string, 0, len(order))
	for _, identity := range order {
		set := fmt.Sprintf("a set that no longer exists (tio-set:%s)", identity)
		if name := nameOf(identity); name != "" {
			set = fmt.Sprintf("TalisInstanceSet %q (tio-set:%s), which no longer exists", name, identity)
		}
		parts = append(parts, shared.DescribeIDs(groups[identity])+" of "+set)
	}
	return strings.Join(parts, "; ")
}

// message says what the sweep is doing about the strays it tracks; "" when it tracks none.
func (t *strayTracker) message(nameOf func(string) string) string {
	var live, waiting, watched []int64
	for id, st := range t.strays {
		switch {
		case !st.live:
			watched = append(watched, id)
		case !st.ready && st.sent.IsZero():
			waiting = append(waiting, id)
			live = append(live, id)
		default:
			live = append(live, id)
		}
	}
	if len(live)+len(watched) == 0 {
		return ""
	}
	slices.Sort(live)
	identityOf := func(id int64) string { return t.strays[id].identity }
	var b strings.Builder
	if len(live) > 0 {
		fmt.Fprintf(&b, "%d live instance(s) in Talis are tagged for TalisInstanceSets of this project that no longer exist (creates Talis applied after their set was gone); they are terminated: %s",
			len(live), describeStrays(live, identityOf, nameOf))
	}
	if len(waiting) > 0 {
		slices.Sort(waiting)
		fmt.Fprintf(&b, "; %s not ready yet: terminated once ready (or after %s), as a terminate could be undone by a create still running", shared.DescribeIDs(waiting), strayProvisioning)
	}
	if len(watched) > 0 {
		slices.Sort(watched)
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s terminated before ready, watched in case their create brings them back", shared.DescribeIDs(watched))
	}
	return b.String()
}

// liveIDs are the strays the last list showed live.
func (t *strayTracker) liveIDs() []int64 {
	var out []int64
	for id, st := range t.strays {
		if st.live {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// pruneOrphaned drops the entries of status.orphanedSets that protect nothing any more: a set
// of the same identity has taken its instances over (it has instances or create attempts of its
// own), or a list that started OrphanRecordKeep after the entry shows none of them live.
func pruneOrphaned(st *infrav1.TalisProjectStatus, live []*observer.Instance, start time.Time, sets []infrav1.TalisInstanceSet) {
	if len(st.OrphanedSets) == 0 {
		return
	}
	running := map[string]bool{}
	for _, in := range live {
		if identity, ok := setIdentity(in.Tags); ok {
			running[identity] = true
		}
	}
	tookOver := map[string]bool{}
	for i := range sets {
		s := &sets[i].Status
		if s.Identity != "" && (len(s.Instances) > 0 || s.LastCreateAttempt > 0) {
			tookOver[s.Identity] = true
		}
	}
	kept := st.OrphanedSets[:0]
	for _, e := range st.OrphanedSets {
		if tookOver[e.Identity] || (!running[e.Identity] && start.After(e.OrphanedAt.Add(shared.OrphanRecordKeep))) {
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		kept = nil
	}
	st.OrphanedSets = kept
}

// highestID is the highest ID among live instances; 0 when there are none.
func highestID(live []*observer.Instance) int64 {
	var top int64
	for _, in := range live {
		top = max(top, int64(in.ID))
	}
	return top
}
