package instanceset

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Task look-ups cost one Talis call per instance, so only late instances get them, each at
// most once per backing-off interval, and every set on an endpoint shares one budget. Instances
// seen terminated before their create was known done come first: their look-ups decide when a
// set (and its deletion) may stop watching them, so they back off only up to a poll interval.
const (
	maxTaskLookups     = 10              // per reconcile
	taskLookupParallel = 4               // calls in flight per reconcile
	taskLookupRate     = 5               // per second per endpoint
	taskLookupBurst    = 10              // per endpoint
	maxTaskRecheck     = 2 * time.Minute // longest gap between look-ups of one stuck instance
	maxFailureText     = 128             // status.instances[].failure
	maxFailureMessage  = 512             // conditions and events carry this much of the server's error
)

// workerLock is how long Talis's worker holds a task it picked (lock_expiry = locked_at + 5 min),
// used when a task shows locked_at without lock_expiry.
const workerLock = 5 * time.Minute

// tasksVisible: Talis shows tasks only to its hard-wired admin owner.
func tasksVisible(conn *talisconn.Connection) bool { return conn.OwnerID == talis.AdminOwnerID }

// taskLookups remembers, per instance, when its tasks may be looked up again.
type taskLookups struct {
	mu       sync.Mutex
	next     map[lookupKey]lookupState
	limiters map[string]*rate.Limiter
}

type lookupKey struct {
	endpoint string
	id       int64
}

type lookupState struct {
	at       time.Time
	interval time.Duration
	view     taskView
}

// taskView is what the last look-up of an instance's create task found; the condition of a
// deleting set names it for the instances it still watches.
type taskView struct {
	status    talis.TaskStatus // "" until a look-up has found the task
	lockUntil time.Time        // when the lock of the worker running it expires (Talis's clock)
	err       string           // the last look-up's error, if it failed
}

// due reports whether the instance may be looked up now, and if so books the next look-up:
// the interval doubles from first up to ceiling.
func (t *taskLookups) due(endpoint string, id int64, now time.Time, first, ceiling time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next == nil {
		t.next, t.limiters = map[lookupKey]lookupState{}, map[string]*rate.Limiter{}
	}
	k := lookupKey{endpoint, id}
	st, seen := t.next[k]
	// A look-up booked far ahead (the instance was late for long) comes sooner once the
	// instance needs a closer watch (a lower ceiling).
	if seen && now.Before(st.at.Add(-st.interval).Add(min(st.interval, ceiling))) {
		return false
	}
	lim := t.limiters[endpoint]
	if lim == nil {
		lim = rate.NewLimiter(taskLookupRate, taskLookupBurst)
		t.limiters[endpoint] = lim
	}
	if !lim.AllowN(now, 1) {
		return false
	}
	st.interval = max(min(2*st.interval, ceiling), first)
	st.at = now.Add(st.interval)
	t.next[k] = st
	return true
}

// saw remembers what a look-up found.
func (t *taskLookups) saw(endpoint string, id int64, v taskView) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := lookupKey{endpoint, id}
	if st, ok := t.next[k]; ok {
		st.view = v
		t.next[k] = st
	}
}

// views returns what the last look-ups found of the instances, by ID.
func (t *taskLookups) views(endpoint string, ids []int64) map[int64]taskView {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int64]taskView{}
	for _, id := range ids {
		if st, ok := t.next[lookupKey{endpoint, id}]; ok {
			out[id] = st.view
		}
	}
	return out
}

func (t *taskLookups) forget(endpoint string, id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.next, lookupKey{endpoint, id})
}

// failedInstance is an instance whose create task was just found failed.
type failedInstance struct {
	id, attempt  int64
	templateHash string
	message      string // the server's error, sanitised and clipped to maxFailureMessage
}

// readTasks looks up the create tasks of instances that are late (not ready TaskCheck after
// they were recorded) or seen terminated before their create was known done (watched, see
// watchRule), and records the ones whose task can no longer write the instance. It returns the
// instances it found failed. Healthy instances never cost a call.
func (r *Reconciler) readTasks(ctx context.Context, conn *talisconn.Connection,
	st *infrav1.TalisInstanceSetStatus, snapStart time.Time) []failedInstance {
	if r.Timing.TaskCheck <= 0 || !tasksVisible(conn) {
		return nil
	}
	now := time.Now()
	var todo []int
	// Watched instances first: the per-reconcile cap must not leave them behind late ones.
	for _, watchedPass := range []bool{true, false} {
		for i, in := range st.Instances {
			if len(todo) == maxTaskLookups {
				break
			}
			watched := in.TerminatedAt != nil
			if watched != watchedPass || in.CreateTask != "" || shared.InstanceReady(in) || in.CreatedAt == nil ||
				!watched && snapStart.Sub(in.CreatedAt.Time) < r.Timing.TaskCheck {
				continue
			}
			ceiling := maxTaskRecheck
			if watched {
				ceiling = max(r.Timing.TaskCheck, r.Timing.PollMax)
			}
			if r.lookups.due(conn.Key, in.ID, now, r.Timing.TaskCheck, ceiling) {
				todo = append(todo, i)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	found := make([]*talis.Task, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, taskLookupParallel)
	for j, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			found[j], errs[j] = r.createTask(ctx, conn, st.Instances[i].ID)
		}()
	}
	wg.Wait()

	var failed []failedInstance
	// Read after the list this reconcile merged: for a watched instance, after Talis showed
	// it terminated.
	seen := time.Now()
	for j, i := range todo {
		in := &st.Instances[i]
		t := found[j]
		watched := in.TerminatedAt != nil
		r.lookups.saw(conn.Key, in.ID, viewOf(t, errs[j]))
		if t == nil || !taskFinished(t, seen, r.Timing.MaxClockSkew) && !(watched && workerGone(t, seen, r.Timing.MaxClockSkew)) {
			continue
		}
		// Seen unable to write the instance by now, on this clock: a list that starts later
		// shows all it wrote.
		in.CreateTask, in.CreateTaskSeenAt = string(t.Status), &metav1.Time{Time: seen}
		r.lookups.forget(conn.Key, in.ID)
		if t.Status != talis.TaskStatusFailed || watched {
			continue // a watched instance is already terminated and replaced: only its end matters
		}
		at := t.UpdatedAt
		if at.IsZero() || at.After(now) {
			at = now
		}
		msg := sanitizeTaskError(t.Error)
		in.FailedAt, in.Failure = &metav1.Time{Time: at}, shared.Clip(msg, maxFailureText)
		failed = append(failed, failedInstance{id: in.ID, attempt: in.CreateAttempt, templateHash: in.TemplateHash,
			message: shared.Clip(msg, maxFailureMessage)})
	}
	return failed
}

// viewOf is what a look-up answered, for the condition of a deleting set.
func viewOf(t *talis.Task, err error) taskView {
	switch {
	case err != nil:
		return taskView{err: shared.Clip(sanitizeTaskError(err.Error()), 200)}
	case t == nil:
		return taskView{err: "Talis lists no create task for it"}
	}
	return taskView{status: t.Status, lockUntil: lockExpiry(t)}
}

// createTask returns the instance's create task, nil if Talis lists none, or the error that
// kept it from being read now.
func (r *Reconciler) createTask(ctx context.Context, conn *talisconn.Connection, id int64) (*talis.Task, error) {
	tasks, err := conn.Client.ListTasksByInstanceID(ctx, conn.OwnerID, uint(id), string(talis.TaskActionCreateInstances), &talis.ListOptions{Limit: 1})
	if err != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("reading the instance's create task failed; trying again later", "instance", id, "error", err.Error())
		return nil, err
	}
	if len(tasks) == 0 {
		return nil, nil
	}
	return tasks[0], nil
}

// lockExpiry is when the lock of the worker that picked the task expires (Talis's clock), or
// zero if no worker holds it. Talis locks a task for five minutes when a worker picks it,
// releases the lock when the task completes or fails, and gives a task whose lock has expired
// to another worker.
func lockExpiry(t *talis.Task) time.Time {
	switch {
	case t.LockExpiry != nil:
		return *t.LockExpiry
	case t.LockedAt != nil:
		return t.LockedAt.Add(workerLock)
	}
	return time.Time{}
}

// locked is true while a worker may hold the task: its lock has not expired by now, Talis's clock
// taken to be within skew of this one.
func locked(t *talis.Task, now time.Time, skew time.Duration) bool {
	until := lockExpiry(t)
	return !until.IsZero() && !now.After(until.Add(max(skew, 0)))
}

// taskFinished is true once the create task can no longer write its instance, whatever state
// the instance is in: it completed or failed, or it was marked terminated (task.terminate) with
// no worker holding it. task.terminate only flips the status: a worker already running the task
// goes on and writes the instance (and the task's status) when it is done.
func taskFinished(t *talis.Task, now time.Time, skew time.Duration) bool {
	switch t.Status {
	case talis.TaskStatusCompleted, talis.TaskStatusFailed:
		return true
	case talis.TaskStatusTerminated:
		return !locked(t, now, skew)
	}
	return false
}

// workerGone is true, for an instance Talis showed terminated before this look-up, once no
// worker can bring it back: the task is running (or marked terminated) but the lock of the
// worker that picked it has expired. Talis gives such a task to another worker, whose run finds
// the instance terminated and does nothing; the worker that held the lock is one Talis itself
// treats as gone. A pending task is not counted: it is picked soon, and completes at once.
func workerGone(t *talis.Task, now time.Time, skew time.Duration) bool {
	return (t.Status == talis.TaskStatusRunning || t.Status == talis.TaskStatusTerminated) && !locked(t, now, skew)
}

// createFinished is true once the instance's create task is done: it can no longer write its
// state over a terminate, so a terminate may be sent whatever state the instance is in. Only
// completed, failed and terminated are recorded for an instance not yet terminated (readTasks);
// a "running" task recorded for a watched instance (its worker's lock expired) is not done.
func createFinished(in infrav1.TalisInstance) bool {
	switch talis.TaskStatus(in.CreateTask) {
	case talis.TaskStatusCompleted, talis.TaskStatusFailed, talis.TaskStatusTerminated:
		return true
	}
	return false
}

// createEnded is true once the instance's create task was seen unable to write the instance:
// finished, or, for an instance already terminated, its worker's lock expired.
func createEnded(in infrav1.TalisInstance) bool {
	return createFinished(in) || in.CreateTask != "" && in.CreateTaskSeenAt != nil
}

// secretLike matches long unbroken tokens (keys, passwords, bearer tokens) a provider or Ansible
// error may echo; they never reach status or events.
var secretLike = regexp.MustCompile(`[A-Za-z0-9+/=_-]{32,}`)

// sanitizeTaskError makes a task error fit for a condition: one line, no token-like strings.
func sanitizeTaskError(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = secretLike.ReplaceAllString(s, "[redacted]")
	if s == "" {
		return "(Talis gave no error text)"
	}
	return s
}

// tasksNote says, once, why a set of another owner is judged only by its provisioning timeout.
func tasksNote(conn *talisconn.Connection) string {
	return fmt.Sprintf(" (Talis shows tasks only to owner %d, so for owner %d a failed create is only seen as this timeout)",
		talis.AdminOwnerID, conn.OwnerID)
}

// withTasksNote adds tasksNote to the health of sets whose failures Talis hides.
func withTasksNote(h shared.Health, conn *talisconn.Connection) shared.Health {
	if tasksVisible(conn) || (h.Reason != infrav1.ReasonProvisioning && h.Reason != infrav1.ReasonProvisioningTimeout) {
		return h
	}
	h.Message += tasksNote(conn)
	return h
}
