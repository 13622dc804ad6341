package instanceset

import (
	"slices"
	"testing"

	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
)

// Status entries can be written by others: only IDs Talis lists with the set's tag are
// terminated.
func TestTerminatesOnlyInstancesCarryingTheSetsTag(t *testing.T) {
	ours, theirs := creates.Identity("c", "ns", "web"), creates.Identity("c", "victim", "web")
	listed := []*observer.Instance{
		{ID: 1, Tags: creates.Tags(ours, 1, "h", nil)},
		{ID: 2, Tags: creates.Tags(theirs, 1, "h", nil)},
		{ID: 3, Tags: []string{"made-outside"}},
	}
	got := carryingTag([]int64{1, 2, 3, 4}, listed, ours)
	if !slices.Equal(got, []int64{1}) {
		t.Errorf("terminating %v, want [1]: 2 is another set's, 3 nobody's, 4 not listed", got)
	}
}
