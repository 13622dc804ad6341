package instanceset

import (
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestDetailWritesWaitOutTheInterval(t *testing.T) {
	var m memory
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	t0 := time.Unix(1000, 0)
	if d := m.detailWait(key, t0, 5*time.Second); d != 0 {
		t.Fatalf("a set never written waits %s", d)
	}
	m.wroteStatus(key, t0)
	if d := m.detailWait(key, t0.Add(2*time.Second), 5*time.Second); d != 3*time.Second {
		t.Fatalf("2 s after a write: wait %s, want 3s", d)
	}
	if d := m.detailWait(key, t0.Add(6*time.Second), 5*time.Second); d != 0 {
		t.Fatalf("after the interval: wait %s", d)
	}
	if d := m.detailWait(key, t0.Add(time.Second), 0); d != 0 {
		t.Fatalf("interval 0 must never wait, waited %s", d)
	}
}

// Everything remembered of a set goes with one forget: a set re-created under the same name
// starts like a new one.
func TestForgetDropsEverythingRememberedOfASet(t *testing.T) {
	m := memory{pollMin: time.Second, pollMax: 8 * time.Second}
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	t0 := time.Unix(1000, 0)
	s := &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0), Generation: 1}}
	s.Status.ObservedGeneration = 1

	m.used(key, t0.Add(time.Minute))
	m.nextPoll(key, false)
	m.nextPoll(key, false)
	m.wroteOver(key, "7")
	m.wroteStatus(key, t0)
	m.firstWarning(key, "1,2")
	if !m.stale(key, "7") || !m.notBefore(key, s).After(t0.Add(time.Minute)) || m.firstWarning(key, "1,2") ||
		m.detailWait(key, t0, time.Minute) == 0 || m.nextPoll(key, false) != 4*time.Second {
		t.Fatal("the memory did not hold what was recorded")
	}

	m.forget(key)
	if m.stale(key, "7") {
		t.Error("a version written over before forget still reads stale")
	}
	if got := m.notBefore(key, s); !got.Equal(t0) {
		t.Errorf("notBefore %s after forget, want the creation time", got)
	}
	if !m.firstWarning(key, "1,2") {
		t.Error("a warning told before forget is not told again")
	}
	if d := m.detailWait(key, t0, time.Minute); d != 0 {
		t.Errorf("pacing survived forget: wait %s", d)
	}
	if d := m.nextPoll(key, false); d != time.Second {
		t.Errorf("poll backoff survived forget: %s", d)
	}
}

func TestPollsBackOffAndStartOverOnChange(t *testing.T) {
	m := memory{pollMin: time.Second, pollMax: 4 * time.Second}
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	var got []time.Duration
	for _, changed := range []bool{false, false, false, false, true} {
		got = append(got, m.nextPoll(key, changed))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("intervals %v, want %v", got, want)
		}
	}
	m.steady(key)
	if d := m.nextPoll(key, false); d != time.Second {
		t.Errorf("after steady: %s", d)
	}
}

func TestMemoryKeepsTheLastFewVersionsWrittenOver(t *testing.T) {
	var m memory
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	for rv := range maxSuperseded + 1 {
		m.wroteOver(key, strconv.Itoa(rv))
	}
	// The oldest is forgotten: a reconcile of it meets a conflict on write, which is safe.
	if m.stale(key, "0") {
		t.Error("more versions remembered than maxSuperseded")
	}
	for rv := 1; rv <= maxSuperseded; rv++ {
		m.wroteOver(key, strconv.Itoa(rv))
	}
	if !m.stale(key, strconv.Itoa(maxSuperseded)) || !m.stale(key, "1") {
		t.Error("a recent version written over does not read stale")
	}
}
