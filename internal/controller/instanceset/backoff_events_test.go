package instanceset

import (
	"strings"
	"testing"
)

// Three instances of one attempt failing with errors that differ only by their IDs make one
// note naming all three; before, three notes differing only by the ID were merged into one
// event series and two IDs were lost.
func TestFailureNotesNameEveryInstanceOfAnAttempt(t *testing.T) {
	failed := []failedInstance{
		{id: 11, attempt: 4, message: "instance 11: quota exceeded in nyc1"},
		{id: 12, attempt: 4, message: "instance 12: quota exceeded in nyc1"},
		{id: 13, attempt: 4, message: "instance 13: quota exceeded in nyc1"},
		{id: 14, attempt: 5, message: "image not found"},
		{id: 15, attempt: 5, message: "droplet limit reached"},
	}
	notes := failureNotes(failed)
	if len(notes) != 2 {
		t.Fatalf("%d notes, want one per attempt: %q", len(notes), notes)
	}
	for _, want := range []string{"11", "12", "13", "attempt 4", "quota exceeded"} {
		if !strings.Contains(notes[0], want) {
			t.Errorf("note %q lacks %q", notes[0], want)
		}
	}
	if strings.Count(notes[0], "quota exceeded") != 1 {
		t.Errorf("the same error is quoted more than once: %q", notes[0])
	}
	for _, want := range []string{"14", "15", "image not found", "droplet limit reached"} {
		if !strings.Contains(notes[1], want) {
			t.Errorf("note %q lacks %q", notes[1], want)
		}
	}
}
