package instanceset

import (
	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
)

// identityOf is the set's recorded identity, recording it on first use: a set that has already
// created instances without one keeps the legacy identity they carry.
func identityOf(s *infrav1.TalisInstanceSet, cluster string) string {
	st := &s.Status
	if st.Identity == "" {
		if st.LastCreateAttempt > 0 || len(st.Instances) > 0 || st.PendingCreate != nil {
			cluster = ""
		}
		st.Identity = creates.Identity(cluster, s.Namespace, s.Name)
	}
	return st.Identity
}
