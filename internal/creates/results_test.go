package creates

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestResultsAreAppliedOnlyToTheirIntent(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	pending := func(attempt int64) *infrav1.TalisInstanceSetStatus {
		return &infrav1.TalisInstanceSetStatus{LastCreateAttempt: attempt,
			PendingCreate: &infrav1.PendingCreate{Attempt: attempt, Count: 1, RequestedAt: metav1.Now()},
			Instances:     []infrav1.TalisInstance{{ID: 7}}}
	}
	var r Results
	r.Put(key, Result{Attempt: 2, Instances: []infrav1.TalisInstance{{ID: 7}, {ID: 8}}})

	if got := r.Apply(key, pending(3)); got != 0 {
		t.Fatalf("applied attempt %d to the intent of attempt 3", got)
	}
	if _, ok := r.Outcome(key, pending(3)); ok {
		t.Fatal("an outcome whose intent was superseded is still held")
	}

	r.Put(key, Result{Attempt: 3, Instances: []infrav1.TalisInstance{{ID: 7}, {ID: 9}}})
	st := pending(3)
	if got := r.Apply(key, st); got != 3 {
		t.Fatalf("Apply = %d, want 3", got)
	}
	if st.PendingCreate != nil || len(st.Instances) != 2 || st.Instances[1].ID != 9 {
		t.Fatalf("status after Apply: %+v", st)
	}
	r.Drop(key, 3)
	if _, ok := r.Outcome(key, pending(3)); ok {
		t.Fatal("dropped outcome is still held")
	}
}

func TestFailedResultIsNotApplied(t *testing.T) {
	key := types.NamespacedName{Name: "web"}
	var r Results
	st := &infrav1.TalisInstanceSetStatus{LastCreateAttempt: 1, PendingCreate: &infrav1.PendingCreate{Attempt: 1}}
	r.Put(key, Result{Attempt: 1, Err: errBoom})
	if r.Apply(key, st) != 0 || st.PendingCreate == nil {
		t.Fatal("a failed create was applied")
	}
	if res, ok := r.Outcome(key, st); !ok || res.Err != errBoom {
		t.Fatalf("Outcome = %+v, %v", res, ok)
	}
}

func TestSendLogCompleteAfter(t *testing.T) {
	var l SendLog
	if !l.CompleteAfter("x", time.Second).IsZero() {
		t.Fatal("known before the controller started")
	}
	start := time.Unix(1_800_000_000, 0)
	l.Start(start)
	if got, want := l.CompleteAfter("x", 10*time.Second), start.Add(11*time.Second); !got.Equal(want) {
		t.Fatalf("no call sent: %v, want %v (an earlier process may have sent one)", got, want)
	}
	sent := start.Add(time.Minute)
	l.Sending("x", sent, 10*time.Second)
	if got, want := l.CompleteAfter("x", 10*time.Second), sent.Add(11*time.Second); !got.Equal(want) {
		t.Fatalf("after a call: %v, want %v", got, want)
	}
	if got, want := l.CompleteAfter("y", 10*time.Second), start.Add(11*time.Second); !got.Equal(want) {
		t.Fatalf("other identity: %v, want %v", got, want)
	}
}

var errBoom = boom("boom")

type boom string

func (b boom) Error() string { return string(b) }
