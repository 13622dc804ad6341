package instanceset

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

func TestObservedStringsAreClippedToTheCRDBounds(t *testing.T) {
	g := NewWithT(t)
	var in infrav1.TalisInstance
	observeInto(&in, &observer.Instance{ID: 1, Name: strings.Repeat("n", 300), Status: talis.InstanceStatus(strings.Repeat("s", 30)),
		PublicIP: strings.Repeat("1", 60)}, t0)
	g.Expect(in.Name).To(HaveLen(64))
	g.Expect(in.State).To(HaveLen(16))
	g.Expect(in.PublicIP).To(HaveLen(45))
}

// Entries being terminated stay in status; creates wait for them rather than take status past
// MaxPlannedInstances.
func TestPlanCreatesNoMoreThanStatusHolds(t *testing.T) {
	g := NewWithT(t)
	var insts []infrav1.TalisInstance
	for i := range 1000 {
		insts = append(insts, inst(int64(i+1), "ready", "old", time.Hour))
	}
	terminating := func(n int) []infrav1.TalisInstance {
		out := append([]infrav1.TalisInstance(nil), insts...)
		for i := range n {
			in := inst(int64(5000+i), "ready", "old", time.Hour)
			in.TerminatingSince = &metav1.Time{Time: t0.Add(-time.Second)}
			in.TerminateRequestedAt = &metav1.Time{Time: t0.Add(-time.Second)}
			out = append(out, in)
		}
		return out
	}
	ps := rolling(1000, 500, 0)
	g.Expect(computePlan(ps, terminating(0), false, t0, time.Minute).create).To(Equal(500), "the surge")
	g.Expect(computePlan(ps, terminating(300), false, t0, time.Minute).create).To(Equal(200))
	g.Expect(computePlan(ps, terminating(600), false, t0, time.Minute).create).To(BeZero())
}
