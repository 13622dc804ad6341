package project

import (
	"slices"
	"testing"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// A project's status is written by conclude, once per reconcile, and by recordName, the name
// a create will use, stored before the call. A new write path has to be added here, and to
// doc.go, on purpose.
func TestStatusIsWrittenInTheTwoPlacesTheDocsName(t *testing.T) {
	got, err := shared.CallersOf(".", "updateStatus", "Status")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"conclude→updateStatus", "recordName→updateStatus", "updateStatus→Status"}
	if !slices.Equal(got, want) {
		t.Errorf("status writers = %v, want %v", got, want)
	}
}
