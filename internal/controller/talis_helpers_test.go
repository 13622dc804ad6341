package controller

import (
	"strconv"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func patchReplicas(s *infrav1.TalisInstanceSet, n int32) {
	got := getSet(s)
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Replicas = &n
	Expect(k8s.Patch(suiteCtx, got, patch)).To(Succeed())
}

func instanceIDsOf(s *infrav1.TalisInstanceSet) []int64 {
	var out []int64
	for _, in := range s.Status.Instances {
		if in.TerminatingSince == nil {
			out = append(out, in.ID)
		}
	}
	return out
}

// terminateDirectly is someone using Talis behind the operator's back.
func terminateDirectly(project string, id int64) {
	c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
	Expect(err).NotTo(HaveOccurred())
	Expect(c.DeleteInstances(suiteCtx, talis.DeleteInstancesRequest{
		OwnerID: talis.AdminOwnerID, ProjectName: project, InstanceIDs: []uint{uint(id)}})).To(Succeed())
}

func projectID(ns, name string) func() int64 {
	return func() int64 {
		p := &infrav1.TalisProject{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return 0
		}
		return p.Status.ProjectID
	}
}

func faultsFor(route string, f emulator.RouteFault) emulator.Faults {
	return emulator.Faults{Routes: map[string]emulator.RouteFault{route: f}}
}

func commitThenDrop(hang time.Duration) emulator.RouteFault {
	return emulator.RouteFault{CommitThenDropRate: 1, Hang: hang}
}

func noFaults() emulator.Faults { return emulator.Faults{} }

// lateArrival creates, behind the operator, an instance tagged as the set's last create attempt,
// as a create call a gateway held past the set's ambiguity window would; it returns its ID.
func lateArrival(s *infrav1.TalisInstanceSet) int64 {
	p := &infrav1.TalisProject{Status: infrav1.TalisProjectStatus{ProjectName: s.Status.ProjectName}}
	req := instanceset.InstanceRequest(s, p, talis.AdminOwnerID, &infrav1.PendingCreate{
		Attempt: s.Status.LastCreateAttempt, Count: 1, TemplateHash: s.Status.TemplateHash})
	created, err := talisClient().CreateInstance(suiteCtx, []talis.InstanceRequest{req})
	Expect(err).NotTo(HaveOccurred())
	Expect(created).To(HaveLen(1))
	return int64(created[0].ID)
}
