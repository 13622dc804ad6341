package shared

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// A TalisInstanceSet deleted with deletionPolicy Orphan leaves its instances running on purpose.
// The set reconciler records that in its TalisProject's status (status.orphanedSets) before it
// removes the set's finalizer; the project's sweep of stray instances, which terminates
// instances tagged for sets that no longer exist, never touches an identity recorded there.

// MaxOrphanedSets is the most entries status.orphanedSets keeps (the CRD's MaxItems).
const MaxOrphanedSets = 256

// OrphanRecordKeep is how long after the deletion an entry stays at least: it goes only once a
// list that started this much later shows none of its instances live. A create of the orphaned
// set that a gateway held past its deadline may still land meanwhile, and was left on purpose too.
const OrphanRecordKeep = time.Hour

// RecordOrphaned adds the set's identity to the project's record of orphaned sets and reports
// whether status changed. A full record drops its oldest entry and clears status.sweepAfterID:
// the sweep then starts again above every instance live at that moment, so nothing that runs
// now, the dropped set's included, is ever swept.
func RecordOrphaned(st *infrav1.TalisProjectStatus, identity, name string, now time.Time) bool {
	for i := range st.OrphanedSets {
		if e := &st.OrphanedSets[i]; e.Identity == identity {
			if e.Name == name {
				return false
			}
			e.Name, e.OrphanedAt = name, metav1.NewTime(now)
			return true
		}
	}
	if len(st.OrphanedSets) >= MaxOrphanedSets {
		oldest := 0
		for i, e := range st.OrphanedSets {
			if e.OrphanedAt.Before(&st.OrphanedSets[oldest].OrphanedAt) {
				oldest = i
			}
		}
		st.OrphanedSets = append(st.OrphanedSets[:oldest], st.OrphanedSets[oldest+1:]...)
		st.SweepAfterID = nil
	}
	st.OrphanedSets = append(st.OrphanedSets, infrav1.OrphanedSet{Identity: identity, Name: Clip(name, 253), OrphanedAt: metav1.NewTime(now)})
	return true
}
