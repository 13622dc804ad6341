package instanceset

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
)

// defaultReplacementBackoffLimit is the CRD's default, for sets stored before the field existed.
const defaultReplacementBackoffLimit = 10 * time.Minute

// failureVerdict is what a set's failure record says about creating now.
type failureVerdict struct {
	hold    bool // no creates now: backing off, or stalled
	stalled bool
	until   time.Time // when creates may go again, if holding and not stalled
}

func replacementBackoffLimit(s *infrav1.TalisInstanceSet) time.Duration {
	if d := s.Spec.ReplacementBackoffLimit; d != nil && d.Duration > 0 {
		return d.Duration
	}
	return defaultReplacementBackoffLimit
}

// backoffDelay doubles from first for each failed attempt in a row, up to limit.
func backoffDelay(first, limit time.Duration, attempts int32) time.Duration {
	d := first
	for i := int32(1); i < attempts && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// countFailures folds the failures found by this poll into status.createFailures and judges, by
// the snapshot's start like the rest of the plan, whether creates must wait. The wait runs from
// now, when the failure was seen: the snapshot may have started before the failed create was even
// sent. A failure counts once per create attempt: one call's instances fail together.
func countFailures(s *infrav1.TalisInstanceSet, failed []failedInstance, t shared.Timing, snapStart, now time.Time) failureVerdict {
	st := &s.Status
	cf := st.CreateFailures
	switch {
	case cf == nil:
	case cf.TemplateHash != st.TemplateHash: // a new template deserves a fresh start
		cf = nil
	case (stallReached(cf, t) || cf.Rejected) && cf.Generation != s.Generation: // any spec edit is a request to try again
		cf = nil
	case recovered(st, cf):
		cf = nil
	}
	slices.SortFunc(failed, func(a, b failedInstance) int { return cmp.Compare(a.attempt, b.attempt) })
	for _, f := range failed {
		if f.templateHash != st.TemplateHash || cf != nil && f.attempt <= cf.LastAttempt {
			continue
		}
		if cf == nil {
			cf = &infrav1.CreateFailures{TemplateHash: st.TemplateHash}
		}
		cf.Attempts++
		if cf.SameError > 0 && sameFailure(cf.LastError, f.message) {
			cf.SameError++
		} else {
			cf.SameError = 1
		}
		cf.LastAttempt, cf.LastError, cf.Generation = f.attempt, f.message, s.Generation
		cf.NextCreateAfter = &metav1.Time{Time: ceilSecond(now.Add(backoffDelay(t.FailureBackoff, replacementBackoffLimit(s), cf.Attempts)))}
	}
	st.CreateFailures = cf
	var v failureVerdict
	if cf == nil {
		return v
	}
	v.stalled = stallReached(cf, t) || cf.Rejected
	if !v.stalled && cf.NextCreateAfter != nil && snapStart.Before(cf.NextCreateAfter.Time) {
		v.until = cf.NextCreateAfter.Time
	}
	v.hold = v.stalled || !v.until.IsZero()
	return v
}

// ceilSecond rounds up to what status can hold (metav1.Time keeps whole seconds), so that a wait
// read back from status is never shorter than the one decided.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

func stallReached(cf *infrav1.CreateFailures, t shared.Timing) bool {
	return t.StallAfter > 0 && cf.SameError >= int32(t.StallAfter)
}

// recovered is true once an instance made after the last counted failure is ready.
func recovered(st *infrav1.TalisInstanceSetStatus, cf *infrav1.CreateFailures) bool {
	for _, in := range st.Instances {
		if in.CreateAttempt > cf.LastAttempt && in.TemplateHash == cf.TemplateHash && shared.InstanceReady(in) && in.FailedAt == nil {
			return true
		}
	}
	return false
}

// numbers differ between two failures that are otherwise the same (instance IDs, worker numbers).
var numbers = regexp.MustCompile(`[0-9]+`)

func sameFailure(a, b string) bool {
	return numbers.ReplaceAllString(a, "#") == numbers.ReplaceAllString(b, "#")
}

// failureHealth reports failed creates: repaired after a backoff, or stalled when every attempt
// fails the same way. Other states of the set are left as assess judged them.
func failureHealth(h shared.Health, s *infrav1.TalisInstanceSet, v failureVerdict) shared.Health {
	cf := s.Status.CreateFailures
	if cf == nil || !s.DeletionTimestamp.IsZero() || h.Ready {
		return h
	}
	if v.stalled && cf.Rejected {
		return shared.StalledOn(infrav1.ReasonTalisRejected, fmt.Sprintf(
			"Talis rejected the create request (attempt %d): %s; the same request would be rejected again, so nothing more is created until the spec changes", cf.LastAttempt, cf.LastError))
	}
	if v.stalled {
		return shared.StalledOn(infrav1.ReasonProvisioningFailing, fmt.Sprintf(
			"the last %d create attempts all failed in Talis the same way, so no more are made until the spec changes: %s",
			cf.SameError, cf.LastError))
	}
	msg := fmt.Sprintf("Talis failed to create the instance(s) of attempt %d: %s", cf.LastAttempt, cf.LastError)
	if !v.until.IsZero() {
		msg += fmt.Sprintf("; replacing them from %s (failed attempt %d in a row; waits double up to %s)",
			v.until.UTC().Format(time.RFC3339), cf.Attempts, replacementBackoffLimit(s))
	} else {
		msg += "; replacing them"
	}
	return shared.Repairing(infrav1.ReasonInstanceFailed, msg)
}

// reportFailures emits one Warning per create attempt with failures found by this poll, naming
// every failed instance: notes that differ only by an ID would be merged into one event series
// by the events library, and the other IDs lost.
func (r *Reconciler) reportFailures(s *infrav1.TalisInstanceSet, failed []failedInstance) {
	metrics.CountFailedInstances(len(failed))
	for _, note := range failureNotes(failed) {
		r.Recorder.Eventf(s, nil, "Warning", infrav1.ReasonInstanceFailed, "Observe", "%s", note)
	}
}

// failureNotes says, per attempt in the order found, which instances failed and with what
// errors (each distinct error once, numbers aside).
func failureNotes(failed []failedInstance) []string {
	type attempt struct {
		ids    []int64
		errors []string
	}
	byAttempt := map[int64]*attempt{}
	var order []int64
	for _, f := range failed {
		a := byAttempt[f.attempt]
		if a == nil {
			a = &attempt{}
			byAttempt[f.attempt] = a
			order = append(order, f.attempt)
		}
		a.ids = append(a.ids, f.id)
		if !slices.ContainsFunc(a.errors, func(e string) bool { return sameFailure(e, f.message) }) {
			a.errors = append(a.errors, f.message)
		}
	}
	notes := make([]string, 0, len(order))
	for _, n := range order {
		a := byAttempt[n]
		notes = append(notes, fmt.Sprintf("Talis's create task failed for instance(s) %s of attempt %d: %s",
			shared.DescribeIDs(a.ids), n, strings.Join(a.errors, "; and: ")))
	}
	return notes
}

// untilCreates shortens a requeue so that a set backing off looks again when creates may go.
func untilCreates(res time.Duration, v failureVerdict, now time.Time) time.Duration {
	if v.until.IsZero() {
		return res
	}
	wait := max(v.until.Sub(now), time.Millisecond)
	if res <= 0 || wait < res {
		return wait
	}
	return res
}
