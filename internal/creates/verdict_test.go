package creates

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestJudge(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w := Window{Send: 10 * time.Second, Land: 25 * time.Second}
	pc := &infrav1.PendingCreate{Attempt: 3, Count: 2, RequestedAt: metav1.Time{Time: t0}}
	for _, tc := range []struct {
		name      string
		found     bool
		snapStart time.Time
		want      Verdict
	}{
		{"found before the window closes", true, t0.Add(time.Second), Applied},
		{"found after the window closed", true, t0.Add(time.Hour), Applied},
		{"not found, inside the send deadline", false, t0.Add(5 * time.Second), Unknown},
		{"not found, past the deadline but Talis may still be processing", false, t0.Add(20 * time.Second), Unknown},
		{"not found, exactly at Land plus the timestamp margin", false, t0.Add(26 * time.Second), Unknown},
		{"not found, after the window closed", false, t0.Add(26*time.Second + time.Nanosecond), NotApplied},
	} {
		if got := Judge(pc, tc.found, tc.snapStart, w); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The verdict can only be "not applied" after every moment the create could have been sent:
// the deadline is inside the window whatever the window's settings.
func TestWindowDeadlineComesBeforeTheVerdict(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, w := range []Window{{Send: time.Second, Land: 3 * time.Second}, {Send: 30 * time.Second, Land: 45 * time.Second}} {
		if w.Closed(t0, w.Deadline(t0)) {
			t.Errorf("%+v: a snapshot at the deadline closes the window", w)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		attempt, last, confirmed int64
		want                     Arrival
	}{
		{"the pending attempt, confirmed", 4, 4, 4, Confirmed},
		{"a new set adopts what a predecessor left", 2, 0, 0, Adopted},
		{"an attempt beyond any this set made: a predecessor's", 9, 4, 0, Adopted},
		{"an attempt already resolved arrives late", 3, 4, 0, Late},
		{"an older attempt beside a confirmed one", 2, 4, 4, Late},
	} {
		if got := Classify(tc.attempt, tc.last, tc.confirmed); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
