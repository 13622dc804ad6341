package shared

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// An outputs problem folded into every state of the fleet, read as kstatus and Argo CD read it:
// Ready stays the fleet's, the combination stays sound, and the fleet's own stall comes first.
func TestOutputsFoldIntoEveryState(t *testing.T) {
	problems := []*OutputsProblem{
		{Reason: infrav1.ReasonOutputsNotOwned, Message: "not ours"},
		{Reason: infrav1.ReasonOutputsNotWritten, Message: "refused"},
	}
	for reason, kind := range reasonKinds {
		if kind == kindQuiet {
			continue
		}
		for _, p := range problems {
			t.Run(reason+"/"+p.Reason, func(t *testing.T) {
				g := NewWithT(t)
				const gen = 2
				base := build(kind, reason)
				alone, folded := setObject(gen), setObject(gen)
				base.Apply(&alone.Status.Conditions, gen)
				h := base.WithOutputs(p)
				h.Apply(&folded.Status.Conditions, gen)
				a, f := read(g, alone), read(g, folded)

				ready := func(o *infrav1.TalisInstanceSet) [3]string {
					c := FindCondition(o.Status.Conditions, infrav1.ConditionReady)
					return [3]string{string(c.Status), c.Reason, c.Message}
				}
				g.Expect(ready(folded)).To(Equal(ready(alone)), "Ready is the fleet's")
				g.Expect(f.rec == "True" && f.stuck == "True").To(BeFalse())
				g.Expect(f.progressing).To(Equal(f.rec))
				switch {
				case base.Stalled || base.paused:
					g.Expect(f).To(Equal(a), "the fleet's own state comes first")
				case p.Reason == infrav1.ReasonOutputsNotOwned:
					g.Expect(f.kstatus).To(Equal(status.FailedStatus))
					g.Expect(f.argo).To(Equal("Degraded"))
					g.Expect(ReasonOf(folded.Status.Conditions, infrav1.ConditionStalled)).To(Equal(p.Reason))
					g.Expect(infrav1.StatusReason(folded.Status.Conditions)).To(Equal(p.Reason))
					g.Expect(h.Warning()).To(BeTrue())
				case base.unsynced || base.Degraded:
					g.Expect(f).To(Equal(a), "a retried write hides behind the fleet's own trouble")
				default:
					g.Expect(f.kstatus).To(Equal(status.InProgressStatus))
					g.Expect(f.synced).To(Equal(metav1.ConditionFalse))
					g.Expect(ReasonOf(folded.Status.Conditions, infrav1.ConditionSynced)).To(Equal(p.Reason))
				}
				g.Expect(base.WithOutputs(nil)).To(Equal(base))
			})
		}
	}
}

// After a restart the set reconciler may run before the outputs reconciler has looked: the set
// keeps what its conditions say instead of clearing the stall and setting it again.
func TestOutputsVerdictUnknownKeepsRecorded(t *testing.T) {
	g := NewWithT(t)
	s := setObject(1)
	s.Spec.Outputs = &infrav1.InstanceSetOutputs{ConfigMapName: "hosts"}
	v := &OutputsVerdicts{}
	g.Expect(v.Of(s)).To(BeNil())

	FleetReady("ready").WithOutputs(&OutputsProblem{Reason: infrav1.ReasonOutputsNotOwned, Message: "m"}).Apply(&s.Status.Conditions, 1)
	g.Expect(v.Of(s)).To(Equal(&OutputsProblem{Reason: infrav1.ReasonOutputsNotOwned, Message: "m"}))

	g.Expect(v.Set(client.ObjectKeyFromObject(s), nil)).To(BeTrue())
	g.Expect(v.Of(s)).To(BeNil(), "a verdict, once given, wins")
	g.Expect(v.Set(client.ObjectKeyFromObject(s), nil)).To(BeFalse())

	s.Spec.Outputs = nil
	v.Forget(client.ObjectKeyFromObject(s))
	g.Expect(v.Of(s)).To(BeNil(), "no outputs, no outputs problem")
}
