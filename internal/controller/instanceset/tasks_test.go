package instanceset

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// When a create task can no longer write its instance: what ends the watch of an instance
// terminated before its create was known done (issue 25 point 3).
func TestCreateTaskEnd(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const skew = 2 * time.Second
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tc := range []struct {
		name               string
		task               talis.Task
		finished, goneOnly bool // taskFinished; workerGone (counted only for a watched instance)
	}{
		{name: "completed", task: talis.Task{Status: talis.TaskStatusCompleted}, finished: true},
		{name: "failed", task: talis.Task{Status: talis.TaskStatusFailed}, finished: true},
		{name: "pending: a worker that picks it finds the instance terminated, but it has not run yet",
			task: talis.Task{Status: talis.TaskStatusPending}},
		{name: "running under a live lock", task: talis.Task{Status: talis.TaskStatusRunning, LockedAt: at(-time.Minute), LockExpiry: at(4 * time.Minute)}},
		{name: "running, its lock expired within the clock skew", task: talis.Task{Status: talis.TaskStatusRunning, LockExpiry: at(-time.Second)}},
		{name: "running, its lock expired", task: talis.Task{Status: talis.TaskStatusRunning, LockedAt: at(-6 * time.Minute), LockExpiry: at(-time.Minute)}, goneOnly: true},
		{name: "running, locked without an expiry: five minutes", task: talis.Task{Status: talis.TaskStatusRunning, LockedAt: at(-4 * time.Minute)}},
		{name: "running, locked over five minutes ago without an expiry", task: talis.Task{Status: talis.TaskStatusRunning, LockedAt: at(-6 * time.Minute)}, goneOnly: true},
		{name: "running with no lock", task: talis.Task{Status: talis.TaskStatusRunning}, goneOnly: true},
		{name: "terminated before a worker picked it", task: talis.Task{Status: talis.TaskStatusTerminated}, finished: true},
		{name: "terminated while a worker runs it: the worker goes on",
			task: talis.Task{Status: talis.TaskStatusTerminated, LockedAt: at(-time.Minute), LockExpiry: at(4 * time.Minute)}},
		{name: "terminated, the lock of the worker that ran it expired",
			task: talis.Task{Status: talis.TaskStatusTerminated, LockedAt: at(-6 * time.Minute), LockExpiry: at(-time.Minute)}, finished: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := taskFinished(&tc.task, now, skew); got != tc.finished {
				t.Errorf("taskFinished = %v, want %v", got, tc.finished)
			}
			wantGone := tc.finished && tc.task.Status == talis.TaskStatusTerminated || tc.goneOnly
			if got := workerGone(&tc.task, now, skew); got != wantGone {
				t.Errorf("workerGone = %v, want %v", got, wantGone)
			}
		})
	}
}

// Look-ups of a watched instance back off only up to their ceiling (a poll interval), even when
// the instance had been late for long before it was terminated.
func TestTaskLookupsCeiling(t *testing.T) {
	var l taskLookups
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const first, late, watched = 3 * time.Second, maxTaskRecheck, 10 * time.Second
	now := t0
	// Late for long: the interval grew to two minutes.
	for range 8 {
		if !l.due("e", 1, now, first, late) {
			t.Fatalf("not due at %s", now.Sub(t0))
		}
		now = now.Add(late)
	}
	booked := l.next[lookupKey{"e", 1}]
	if booked.interval != late {
		t.Fatalf("interval %s, want %s", booked.interval, late)
	}
	last := booked.at.Add(-booked.interval)
	if l.due("e", 1, last.Add(watched-time.Second), first, watched) {
		t.Fatal("due before the watched ceiling")
	}
	if !l.due("e", 1, last.Add(watched), first, watched) {
		t.Fatal("a watched instance waited past its ceiling for a look-up booked while it was late")
	}
	if got := l.next[lookupKey{"e", 1}].interval; got != watched {
		t.Fatalf("interval %s, want the ceiling %s", got, watched)
	}
}

// A deleting set says what each watched instance waits for, with its ID.
func TestDeletingMessageSaysWhatTheWatchWaitsFor(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	watched := func(id int64) infrav1.TalisInstance {
		return infrav1.TalisInstance{ID: id, CreatedAt: at(0), State: "terminated", TerminatingSince: at(time.Minute),
			TerminateRequestedAt: at(time.Minute), TerminatedAt: at(2 * time.Minute)}
	}
	done := watched(14)
	done.CreateTask, done.CreateTaskSeenAt = "completed", at(3*time.Minute)
	st := &infrav1.TalisInstanceSetStatus{Instances: []infrav1.TalisInstance{
		watched(11), watched(12), watched(13), done, watched(15), {ID: 16, State: "ready"}}}

	msg := deletingMessage(st, syncResult{watch: watchRule{tasksRead: true}, tasks: map[int64]taskView{
		11: {status: talis.TaskStatusRunning, lockUntil: t0.Add(7 * time.Minute)},
		12: {err: "talis: GET /api/v1/instances/:instance_id/tasks: 503 Service Unavailable"},
		13: {status: talis.TaskStatusPending},
	}})
	for _, want := range []string{
		"waiting for 16 to terminate",
		"watching 11,12,13,14,15, terminated, in case a create still running brings them back",
		"until Talis shows their create task done",
		"11: create task still running, its worker holds it until 2026-12-01T12:07:00Z",
		"12: reading the create task failed, tried again every poll: talis: GET /api/v1/instances/:instance_id/tasks: 503",
		"13: create task not started yet",
		"14: create task done, the watch ends with the next list",
		"15: create task not read yet",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	msg = deletingMessage(st, syncResult{watch: watchRule{settle: 5 * time.Minute, hidden: 16 * time.Minute,
		hiddenWhy: "Talis shows tasks only to owner 4294967295, not to owner 7"}})
	for _, want := range []string{
		"watching 11,12,13,14,15, terminated",
		"until a list after 2026-12-01T12:16:00Z still shows them terminated: Talis shows tasks only to owner 4294967295, not to owner 7, so the end of a create cannot be seen",
		"the provisioning timeout plus the create window (16m0s) after the instance was first seen, and at least --terminate-settle (5m0s) after it was seen terminated",
		"14: create task done, the watch ends with the next list",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
