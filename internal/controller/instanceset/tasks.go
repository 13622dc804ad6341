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
// most once per backing-off interval, and every set on an endpoint shares one budget.
const (
	maxTaskLookups     = 10              // per reconcile
	taskLookupParallel = 4               // calls in flight per reconcile
	taskLookupRate     = 5               // per second per endpoint
	taskLookupBurst    = 10              // per endpoint
	maxTaskRecheck     = 2 * time.Minute // longest gap between look-ups of one stuck instance
	maxFailureText     = 128             // status.instances[].failure
	maxFailureMessage  = 512             // conditions and events carry this much of the server's error
)

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
}

// due reports whether the instance may be looked up now, and if so books the next look-up.
func (t *taskLookups) due(endpoint string, id int64, now time.Time, first time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next == nil {
		t.next, t.limiters = map[lookupKey]lookupState{}, map[string]*rate.Limiter{}
	}
	k := lookupKey{endpoint, id}
	st, seen := t.next[k]
	if seen && now.Before(st.at) {
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
	st.interval = min(max(2*st.interval, first), maxTaskRecheck)
	st.at = now.Add(st.interval)
	t.next[k] = st
	return true
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
// they were recorded) and records the ones that have finished. It returns the instances it
// found failed. Healthy instances never cost a call.
func (r *Reconciler) readTasks(ctx context.Context, conn *talisconn.Connection,
	st *infrav1.TalisInstanceSetStatus, snapStart time.Time) []failedInstance {
	if r.Timing.TaskCheck <= 0 || !tasksVisible(conn) {
		return nil
	}
	now := time.Now()
	var todo []int
	for i, in := range st.Instances {
		if len(todo) == maxTaskLookups {
			break
		}
		// An instance seen terminated before its create finished is watched until its create
		// task is seen finished (sync.go, watchRule): it is always looked up.
		watched := in.TerminatedAt != nil
		if in.CreateTask != "" || shared.InstanceReady(in) || in.CreatedAt == nil ||
			!watched && snapStart.Sub(in.CreatedAt.Time) < r.Timing.TaskCheck {
			continue
		}
		if r.lookups.due(conn.Key, in.ID, now, r.Timing.TaskCheck) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	found := make([]*talis.Task, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, taskLookupParallel)
	for j, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			found[j] = r.createTask(ctx, conn, st.Instances[i].ID)
		}()
	}
	wg.Wait()

	var failed []failedInstance
	for j, i := range todo {
		t := found[j]
		if t == nil || (t.Status != talis.TaskStatusCompleted && t.Status != talis.TaskStatusFailed) {
			continue
		}
		in := &st.Instances[i]
		// Seen finished by now, on this clock: a list that starts later shows all it wrote.
		seen := time.Now()
		in.CreateTask, in.CreateTaskSeenAt = string(t.Status), &metav1.Time{Time: seen}
		r.lookups.forget(conn.Key, in.ID)
		if t.Status != talis.TaskStatusFailed || in.TerminatedAt != nil {
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

// createTask returns the instance's create task, or nil when it cannot be read now.
func (r *Reconciler) createTask(ctx context.Context, conn *talisconn.Connection, id int64) *talis.Task {
	tasks, err := conn.Client.ListTasksByInstanceID(ctx, conn.OwnerID, uint(id), string(talis.TaskActionCreateInstances), &talis.ListOptions{Limit: 1})
	if err != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("reading the instance's create task failed; trying again later", "instance", id, "error", err.Error())
		return nil
	}
	if len(tasks) == 0 {
		return nil
	}
	return tasks[0]
}

// createFinished is true once the instance's create task is done: it can no longer write its
// state over a terminate, so a terminate may be sent whatever state the instance is in.
// A task marked "terminated" is not done: Talis's task.terminate only flips the status and the
// worker running it goes on, writing the instance (the emulator models this, rpc_tasks.go).
func createFinished(in infrav1.TalisInstance) bool {
	return in.CreateTask == string(talis.TaskStatusCompleted) || in.CreateTask == string(talis.TaskStatusFailed)
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
