package instanceset

import (
	"fmt"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
)

// identityOf is the set's recorded identity, recording it on first use: a set that has already
// created instances without one keeps the legacy identity they carry. Status can be written by
// others than the operator, so a recorded identity is used only if it is one the operator
// derives for this namespace and name; otherwise the set could claim another set's instances.
func identityOf(s *infrav1.TalisInstanceSet, cluster string) (string, *shared.Health) {
	st := &s.Status
	current, legacy := creates.Identity(cluster, s.Namespace, s.Name), creates.Identity("", s.Namespace, s.Name)
	switch st.Identity {
	case "":
		st.Identity = current
		if st.LastCreateAttempt > 0 || len(st.Instances) > 0 || st.PendingCreate != nil {
			st.Identity = legacy
		}
	case current, legacy:
	default:
		h := shared.StalledOn(infrav1.ReasonIdentityNotDerived, fmt.Sprintf(
			"status.identity %q is not this set's: the operator derives it from the cluster ID (now %q), namespace and name (%q, or %q for sets from before cluster IDs). If the manager's --cluster-id changed, restore it; otherwise someone else wrote it, and as it cannot change once recorded, delete and re-create the set. Nothing is created or terminated with it",
			st.Identity, cluster, current, legacy))
		return "", &h
	}
	return st.Identity, nil
}
