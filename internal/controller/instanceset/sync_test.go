package instanceset

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// The crash-safety state machine of one poll: what a snapshot may and may not make the set
// forget, confirm or decide.
func TestSyncWithSnapshot(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w := creates.Window{Send: 2 * time.Second, Land: 5 * time.Second}
	const settle = 30 * time.Second
	id := creates.Identity("", "ns", "web")
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	live := func(iid uint, attempt int64, state talis.InstanceStatus) *observer.Instance {
		return &observer.Instance{ID: iid, Status: state, Tags: creates.Tags(id, attempt, "h", nil)}
	}
	pending := func(attempt int64) *infrav1.PendingCreate {
		return &infrav1.PendingCreate{Attempt: attempt, Count: 1, RequestedAt: metav1.Time{Time: t0}}
	}
	type want struct {
		ids                         []int64
		pendingKept                 bool
		confirmed, notApplied       bool
		adopted, late, undone, gone []int64
		lastAttempt                 int64
	}
	for _, tc := range []struct {
		name  string
		st    infrav1.TalisInstanceSetStatus
		live  []*observer.Instance
		start time.Duration // snapshot start after t0
		want  want
		// the watch rule: create tasks read, or how long a hidden create may run
		tasks  bool
		hidden time.Duration
	}{{
		name: "pending create found by tag",
		st:   infrav1.TalisInstanceSetStatus{LastCreateAttempt: 1, PendingCreate: pending(1)},
		live: []*observer.Instance{live(5, 1, talis.InstanceStatusPending)}, start: time.Second,
		want: want{ids: []int64{5}, confirmed: true, lastAttempt: 1},
	}, {
		name:  "pending create not found while it may still land",
		st:    infrav1.TalisInstanceSetStatus{LastCreateAttempt: 1, PendingCreate: pending(1)},
		start: 6 * time.Second,
		want:  want{pendingKept: true, lastAttempt: 1},
	}, {
		name:  "pending create not found after its window",
		st:    infrav1.TalisInstanceSetStatus{LastCreateAttempt: 1, PendingCreate: pending(1)},
		start: 7 * time.Second,
		want:  want{notApplied: true, lastAttempt: 1},
	}, {
		name:  "instances of another set are ignored",
		st:    infrav1.TalisInstanceSetStatus{LastCreateAttempt: 1},
		live:  []*observer.Instance{{ID: 9, Tags: creates.Tags(creates.Identity("", "ns", "other"), 1, "h", nil)}},
		start: time.Minute,
		want:  want{lastAttempt: 1},
	}, {
		name:  "a new set adopts a predecessor's instances and continues its attempt numbers",
		live:  []*observer.Instance{live(3, 4, talis.InstanceStatusReady)},
		start: time.Minute,
		want:  want{ids: []int64{3}, adopted: []int64{3}, lastAttempt: 4},
	}, {
		name:  "an attempt already given up on arrives late and is counted",
		st:    infrav1.TalisInstanceSetStatus{LastCreateAttempt: 3, Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "ready"}}},
		live:  []*observer.Instance{live(1, 1, talis.InstanceStatusReady), live(8, 2, talis.InstanceStatusPending)},
		start: time.Minute,
		want:  want{ids: []int64{1, 8}, late: []int64{8}, lastAttempt: 3},
	}, {
		name:  "a recorded instance missing from a snapshot that may predate it is kept",
		st:    infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(time.Minute)}}},
		start: time.Minute,
		want:  want{ids: []int64{1}},
	}, {
		name:  "terminated outside Kubernetes",
		st:    infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "ready"}}},
		start: time.Minute,
		want:  want{gone: []int64{1}},
	}, {
		name: "terminated after it was ready: gone for good",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), ReadyAt: at(time.Second),
			State: "ready", TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second)}}},
		start: time.Minute,
		want:  want{},
	}, {
		name: "terminated before its create finished: watched",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0),
			State: "pending", TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second)}}},
		start: time.Minute,
		want:  want{ids: []int64{1}},
	}, {
		name: "still terminated after the settle time: gone",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		start: 20*time.Second + settle + 2*time.Second,
		want:  want{},
	}, {
		name: "past the settle time with its create task not seen finished: still watched (issue 25)",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		tasks: true, start: time.Hour,
		want: want{ids: []int64{1}},
	}, {
		name: "create task seen finished after the list started: still watched",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "completed", CreateTaskSeenAt: at(time.Hour)}}},
		tasks: true, start: time.Hour,
		want: want{ids: []int64{1}},
	}, {
		name: "create task marked terminated with no worker holding it, seen before the list: gone",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "terminated", CreateTaskSeenAt: at(time.Minute)}}},
		tasks: true, start: time.Hour,
		want: want{},
	}, {
		name: "create task running, its worker's lock seen expired, then a list still shows it terminated: gone",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "running", CreateTaskSeenAt: at(6 * time.Minute)}}},
		tasks: true, start: 6*time.Minute + 2*time.Second,
		want: want{},
	}, {
		name: "a list after the create task was seen finished still shows it terminated: gone",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "completed", CreateTaskSeenAt: at(time.Minute)}}},
		tasks: true, start: time.Minute + 2*time.Second,
		want: want{},
	}, {
		name: "create task seen finished right after it was seen terminated: gone with the next list, --terminate-settle is no floor",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "failed", CreateTaskSeenAt: at(21 * time.Second)}}},
		tasks: true, start: 23 * time.Second,
		want: want{},
	}, {
		name: "create task seen finished within the list's timestamp precision: still watched",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "failed", CreateTaskSeenAt: at(21 * time.Second)}}},
		tasks: true, start: 22 * time.Second,
		want: want{ids: []int64{1}},
	}, {
		name: "tasks hidden, but its create task was seen finished while they were read: gone",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "completed", CreateTaskSeenAt: at(21 * time.Second)}}},
		hidden: 10 * time.Minute, start: 23 * time.Second,
		want: want{},
	}, {
		name: "tasks hidden: watched past the settle time until the create could have finished",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		hidden: 10 * time.Minute, start: 9 * time.Minute,
		want: want{ids: []int64{1}},
	}, {
		name: "tasks hidden: gone once the create could have finished",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		hidden: 10 * time.Minute, start: 10*time.Minute + 2*time.Second,
		want: want{},
	}, {
		name: "tasks hidden: --terminate-settle after it was seen terminated is the least watch",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		hidden: 5 * time.Second, start: 20*time.Second + settle,
		want: want{ids: []int64{1}},
	}, {
		name: "condemned, its create task seen finished after the list started: watched",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "pending",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), CreateTask: "completed", CreateTaskSeenAt: at(time.Hour)}}},
		tasks: true, start: time.Minute,
		want: want{ids: []int64{1}},
	}, {
		name: "brought back after its worker was judged gone: terminate again, and read its task again",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second), CreateTask: "running", CreateTaskSeenAt: at(21 * time.Second)}}},
		live:  []*observer.Instance{live(1, 1, talis.InstanceStatusCreated)},
		tasks: true, start: 25 * time.Second,
		want: want{ids: []int64{1}, undone: []int64{1}},
	}, {
		name: "brought back by its create: terminate again",
		st: infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{{ID: 1, CreatedAt: at(0), State: "terminated",
			TerminatingSince: at(10 * time.Second), TerminateRequestedAt: at(10 * time.Second), TerminatedAt: at(20 * time.Second)}}},
		live:  []*observer.Instance{live(1, 1, talis.InstanceStatusReady)},
		start: 25 * time.Second,
		want:  want{ids: []int64{1}, undone: []int64{1}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st.DeepCopy()
			res := syncWithSnapshot(st, id, tc.live, t0.Add(tc.start), w, watchRule{settle: settle, tasksRead: tc.tasks, hidden: tc.hidden})
			var ids []int64
			for _, in := range st.Instances {
				ids = append(ids, in.ID)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if !equalish(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("instances", ids, tc.want.ids)
			check("pending kept", st.PendingCreate != nil, tc.want.pendingKept)
			check("createPending", res.createPending, tc.want.pendingKept)
			check("confirmed", res.confirmed != nil, tc.want.confirmed)
			check("not applied", res.notApplied != nil, tc.want.notApplied)
			check("adopted", res.adopted, tc.want.adopted)
			check("late", res.late, tc.want.late)
			check("undone", res.undone, tc.want.undone)
			check("vanished", vanishedIDs(res.vanished), tc.want.gone)
			check("lastCreateAttempt", st.LastCreateAttempt, tc.want.lastAttempt)
			for _, in := range st.Instances {
				if in.ID == 1 && len(tc.want.undone) > 0 && (in.TerminatedAt != nil || in.TerminateRequestedAt != nil) {
					t.Errorf("an instance back from terminated must be terminated again at once: %+v", in)
				}
				if in.ID == 1 && len(tc.want.undone) > 0 && (in.CreateTask != "" || in.CreateTaskSeenAt != nil) {
					t.Errorf("an instance back from terminated must have its create task read again: %+v", in)
				}
			}
		})
	}
}

// equalish compares values, treating nil and empty ID lists alike.
func equalish(a, b any) bool {
	as, aok := a.([]int64)
	bs, bok := b.([]int64)
	if aok && bok {
		return slices.Equal(as, bs) || len(as)+len(bs) == 0
	}
	return a == b
}

// An instance that is only watched after its terminate (in case its create undoes it) is not
// part of the fleet: a set whose live instances are all as wanted is Ready meanwhile.
func TestWatchedTerminatedInstanceDoesNotKeepTheSetFromReady(t *testing.T) {
	now := metav1.Now()
	s := &infrav1.TalisInstanceSet{Spec: infrav1.TalisInstanceSetSpec{Replicas: ptr.To[int32](1)}}
	s.Status.Instances = []infrav1.TalisInstance{
		{ID: 1, State: "terminated", TerminatingSince: &now, TerminateRequestedAt: &now, TerminatedAt: &now},
		{ID: 2, State: "ready", CreatedAt: &now, ReadyAt: &now},
	}
	ps := planSpecFor(s, "")
	summarize(s, ps)
	if h := (&Reconciler{}).assess(s, ps, syncResult{}, plan{}); !h.Ready {
		t.Fatalf("not ready: %+v", h)
	}
	if !watchingTerminated(&s.Status) {
		t.Fatal("the watched instance is not noticed")
	}
}
