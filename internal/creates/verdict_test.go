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
		if w.Closed(&infrav1.PendingCreate{RequestedAt: metav1.Time{Time: t0}}, w.Deadline(t0)) {
			t.Errorf("%+v: a snapshot at the deadline closes the window", w)
		}
	}
}

// A create sent by a manager with a longer window than the judge's (a restart with a shorter
// --talis-timeout, a leader handover during an upgrade) is judged by the window its sender
// recorded: the judge's own window closing says nothing.
func TestJudgeHoldsToTheSendersRecordedWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sender := Window{Send: 30 * time.Second, Land: 45 * time.Second}
	pc := &infrav1.PendingCreate{Attempt: 1, Count: 2, RequestedAt: metav1.Time{Time: t0}}
	sender.Promise(pc)
	if !pc.SendBy.Time.Equal(t0.Add(30*time.Second)) || !pc.LandBy.Time.Equal(t0.Add(45*time.Second)) {
		t.Fatalf("promise: sendBy %v landBy %v", pc.SendBy, pc.LandBy)
	}
	for _, skew := range []time.Duration{0, 30 * time.Second} {
		judge := Window{Send: 2 * time.Second, Land: 17 * time.Second, Skew: skew}
		for _, tc := range []struct {
			name string
			at   time.Duration
			want Verdict
		}{
			{"past the judge's own window, inside the sender's deadline", 20 * time.Second, Unknown},
			{"past the sender's deadline, Talis may still be processing", 40 * time.Second, Unknown},
			{"at the sender's landBy plus skew and precision", 46*time.Second + skew, Unknown},
			{"after the sender's landBy plus skew and precision", 46*time.Second + skew + time.Nanosecond, NotApplied},
		} {
			if got := Judge(pc, false, t0.Add(tc.at), judge); got != tc.want {
				t.Errorf("skew %s, %s: %v, want %v", skew, tc.name, got, tc.want)
			}
		}
		// The judge's own window, when longer, still counts.
		long := Window{Send: time.Minute, Land: 90 * time.Second, Skew: skew}
		if got := Judge(pc, false, t0.Add(60*time.Second+skew), long); got != Unknown {
			t.Errorf("skew %s: a judge with a longer window decided at 60s: %v", skew, got)
		}
	}
}

// Status keeps whole seconds: a promise made at a fractional second must not make the window
// look closed before the sender's real landBy.
func TestJudgeWithTruncatedPromise(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 900_000_000, time.UTC)
	pc := &infrav1.PendingCreate{Attempt: 1, Count: 1, RequestedAt: metav1.Time{Time: t0}}
	Window{Send: 30 * time.Second, Land: 45 * time.Second}.Promise(pc)
	pc.RequestedAt.Time = pc.RequestedAt.Truncate(time.Second)
	pc.SendBy.Time, pc.LandBy.Time = pc.SendBy.Truncate(time.Second), pc.LandBy.Truncate(time.Second)
	judge := Window{Send: 2 * time.Second, Land: 17 * time.Second}
	if got := Judge(pc, false, t0.Add(45*time.Second), judge); got != Unknown {
		t.Errorf("at the sender's real landBy: %v, want unknown", got)
	}
}

// The judge's clock may be ahead of the sender's by up to Skew: a snapshot it dates after the
// sender's window may have started, in real time, before an instance of the create appeared.
func TestJudgeWithClockAheadOfTheSender(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // requestedAt, on the sender's clock
	w := Window{Send: 10 * time.Second, Land: 25 * time.Second, Skew: 30 * time.Second}
	for name, pc := range map[string]*infrav1.PendingCreate{
		"recorded window": {Attempt: 1, Count: 2, RequestedAt: metav1.Time{Time: t0}},
		"older intent":    {Attempt: 1, Count: 2, RequestedAt: metav1.Time{Time: t0}},
	} {
		if name == "recorded window" {
			w.Promise(pc)
		}
		// The last instance may appear when the sender's clock reads t0+25s (+1s precision);
		// the judge's clock, ahead by ahead, then reads that plus ahead.
		for _, ahead := range []time.Duration{0, time.Second, 15 * time.Second, 29 * time.Second, 30 * time.Second} {
			if got := Judge(pc, false, t0.Add(w.Land+TimestampPrecision+ahead), w); got != Unknown {
				t.Errorf("%s, judge's clock %s ahead: %v, want unknown", name, ahead, got)
			}
		}
		if got := Judge(pc, false, t0.Add(w.Land+TimestampPrecision+w.Skew+time.Nanosecond), w); got != NotApplied {
			t.Errorf("%s: after the window plus the skew bound: %v, want not applied", name, got)
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
