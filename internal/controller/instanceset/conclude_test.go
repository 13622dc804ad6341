package instanceset

import (
	"slices"
	"testing"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// A set's status is written by conclude, once per reconcile, and by recordIntent, the
// protocol's record of a decision before it is acted on; writeStatus is the only caller of the
// status client but for recordOrphaned, which writes the project's status. A new write path
// has to be added here, and to doc.go, on purpose.
func TestStatusIsWrittenInTheTwoPlacesTheDocsName(t *testing.T) {
	got, err := shared.CallersOf(".", "writeStatus", "Status")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conclude→writeStatus", "recordIntent→writeStatus", "recordOrphaned→Status", "writeStatus→Status"}
	if !slices.Equal(got, want) {
		t.Errorf("status writers = %v, want %v", got, want)
	}
}
