package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// The checks of the suites must be able to fail: they are tested here on made-up records.

func entry(id uint64, set SetKey, attempt, status string) emulator.LedgerEntry {
	return emulator.LedgerEntry{ID: id, Status: status, Tags: []string{"tio-managed", "tio-set:" + set.Identity(), "tio-try:" + attempt, "tio-tpl:abc"}}
}

func createCall(set SetKey, attempt string, n int) Record {
	return Record{Method: "POST", Path: "/api/v1/instances", Status: 201,
		Create: []CreateRequest{{Tags: []string{"tio-managed", "tio-set:" + set.Identity(), "tio-try:" + attempt}, Count: n}}}
}

func TestAuditCreatesFindsDuplicates(t *testing.T) {
	a, b := SetKey{"ns", "a"}, SetKey{"ns", "b"}
	ids := map[string]SetKey{a.Identity(): a, b.Identity(): b}
	recs := []Record{createCall(a, "1", 2), createCall(a, "2", 1), createCall(a, "2", 1), createCall(b, "1", 1)}
	ledger := []emulator.LedgerEntry{
		entry(1, a, "1", "ready"), entry(2, a, "1", "ready"),
		entry(3, a, "2", "ready"), entry(4, a, "2", "ready"), // attempt 2 sent twice
		entry(5, b, "1", "ready"), entry(6, b, "1", "ready"), // more than asked for
		entry(7, b, "3", "terminated"), // no call on record
	}
	got := AuditCreates(recs, ledger, ids)
	if got.TotalCalls != 4 {
		t.Errorf("calls %d, want 4", got.TotalCalls)
	}
	want := []string{"ns/a attempt 2 sent 2 times", "ns/a attempt 2: 2 instances for a call that asked for 1", "ns/b attempt 1: 2 instances for a call that asked for 1"}
	if strings.Join(got.Duplicates, "|") != strings.Join(want, "|") {
		t.Errorf("duplicates:\n%v\nwant\n%v", got.Duplicates, want)
	}
	if len(got.Unexplained) != 1 || !strings.Contains(got.Unexplained[0], "ns/b attempt 3") {
		t.Errorf("unexplained: %v", got.Unexplained)
	}
	clean := AuditCreates(recs[:2], ledger[:3], ids)
	if len(clean.Duplicates)+len(clean.Unexplained) != 0 {
		t.Errorf("false positives: %+v", clean)
	}
}

func TestRetryAfterViolations(t *testing.T) {
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	recs := []Record{
		{Arrived: at(0), Responded: at(10 * time.Millisecond), Status: 429, RetryAfter: 2 * time.Second},
		{Arrived: at(50 * time.Millisecond), Responded: at(60 * time.Millisecond), Status: 200}, // already on its way
		{Arrived: at(time.Second), Responded: at(time.Second), Status: 200},                     // too early
		{Arrived: at(2100 * time.Millisecond), Responded: at(2200 * time.Millisecond), Status: 200},
	}
	v := RetryAfterViolations(recs, 200*time.Millisecond)
	if len(v) != 1 || !v[0].Early.Arrived.Equal(at(time.Second)) {
		t.Errorf("violations %+v, want the request at +1s", v)
	}
}
