package shared

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/events"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestEventNotesFitWhatTheAPIServerAccepts(t *testing.T) {
	fake := events.NewFakeRecorder(1)
	r := ClippedRecorder{fake}
	r.Eventf(&infrav1.TalisInstanceSet{}, nil, "Warning", "TalisUnavailable", "Create", "Talis failed: %s", strings.Repeat("é", 2000))
	got := <-fake.Events
	note := got[strings.Index(got, "Talis failed"):]
	if len(note) > MaxEventNote || !strings.HasPrefix(note, "Talis failed: é") {
		t.Fatalf("note of %d bytes: %.40q…", len(note), note)
	}
}
