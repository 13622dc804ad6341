package instanceset

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func inst(id int64, state, hash string, createdAgo time.Duration) infrav1.TalisInstance {
	return infrav1.TalisInstance{ID: id, State: state, TemplateHash: hash, CreatedAt: &metav1.Time{Time: t0.Add(-createdAgo)}}
}

func rolling(replicas, surge, unavailable int) planSpec {
	return planSpec{replicas: replicas, templateHash: "new", maxSurge: surge, maxUnavailable: unavailable,
		provisioning: 15 * time.Minute, deleteFirst: map[int64]bool{}}
}

func TestPlanCreatesWhatIsMissing(t *testing.T) {
	g := NewWithT(t)
	p := computePlan(rolling(3, 1, 0), []infrav1.TalisInstance{inst(1, "ready", "new", time.Minute)}, false, t0, time.Minute)
	g.Expect(p.create).To(Equal(2))
	g.Expect(p.condemn).To(BeEmpty())
}

func TestPlanWaitsForAPendingCreate(t *testing.T) {
	g := NewWithT(t)
	p := computePlan(rolling(3, 1, 0), nil, true, t0, time.Minute)
	g.Expect(p.create).To(BeZero(), "an unresolved create may already have made the instances")
}

func TestPlanScaleDownOrder(t *testing.T) {
	g := NewWithT(t)
	insts := []infrav1.TalisInstance{
		inst(1, "ready", "new", 3*time.Minute), inst(2, "ready", "new", 2*time.Minute),
		inst(3, "pending", "new", time.Minute), inst(4, "ready", "new", time.Minute), inst(5, "ready", "new", time.Second),
	}
	ps := rolling(2, 1, 0)
	ps.deleteFirst = map[int64]bool{1: true}
	p := computePlan(ps, insts, false, t0, time.Minute)
	// Named first (1), then not ready (3), then newest (5).
	g.Expect(p.condemn).To(Equal([]int64{1, 3, 5}))
	// The pending one is condemned but its terminate waits for its create to finish.
	g.Expect(p.terminate).To(ConsistOf(int64(1), int64(5)))
	g.Expect(p.create).To(BeZero())
}

func TestPlanRollingKeepsReadyCount(t *testing.T) {
	g := NewWithT(t)
	old := []infrav1.TalisInstance{inst(1, "ready", "old", time.Hour), inst(2, "ready", "old", time.Hour), inst(3, "ready", "old", time.Hour)}
	p := computePlan(rolling(3, 1, 0), old, false, t0, time.Minute)
	g.Expect(p.condemn).To(BeEmpty(), "maxUnavailable 0: nothing goes before a replacement is ready")
	g.Expect(p.create).To(Equal(1), "maxSurge 1")

	withNew := append(old, inst(4, "ready", "new", time.Second))
	p = computePlan(rolling(3, 1, 0), withNew, false, t0, time.Minute)
	g.Expect(p.condemn).To(Equal([]int64{1}), "oldest outdated goes once one replacement is ready")
	g.Expect(p.create).To(Equal(1))
}

func TestPlanRecreateWaitsForOutdatedToGo(t *testing.T) {
	g := NewWithT(t)
	ps := rolling(2, 0, 2)
	ps.recreate = true
	old := []infrav1.TalisInstance{inst(1, "ready", "old", time.Hour), inst(2, "ready", "old", time.Hour)}
	p := computePlan(ps, old, false, t0, time.Minute)
	g.Expect(p.condemn).To(ConsistOf(int64(1), int64(2)))
	g.Expect(p.create).To(BeZero())
}

func TestPlanReplacesTimedOutInstances(t *testing.T) {
	g := NewWithT(t)
	insts := []infrav1.TalisInstance{inst(1, "ready", "new", time.Hour), inst(2, "pending", "new", 20*time.Minute)}
	p := computePlan(rolling(2, 1, 0), insts, false, t0, time.Minute)
	g.Expect(p.timedOut).To(Equal([]int64{2}))
	g.Expect(p.terminate).To(Equal([]int64{2}))
	g.Expect(p.create).To(Equal(1))
}

func TestPlanRepeatsTerminateOnlyAfterTheRetryInterval(t *testing.T) {
	g := NewWithT(t)
	in := inst(1, "ready", "new", time.Hour)
	in.TerminatingSince = &metav1.Time{Time: t0.Add(-time.Minute)}
	in.TerminateRequestedAt = &metav1.Time{Time: t0.Add(-30 * time.Second)}
	ps := rolling(0, 1, 0)
	g.Expect(computePlan(ps, []infrav1.TalisInstance{in}, false, t0, time.Minute).terminate).To(BeEmpty())
	g.Expect(computePlan(ps, []infrav1.TalisInstance{in}, false, t0.Add(time.Minute), time.Minute).terminate).To(Equal([]int64{1}))
}

// Whatever the instances look like, a plan never asks for more than the surge allows, and never
// condemns more ready instances than maxUnavailable permits during a rollout.
func FuzzPlanBounds(f *testing.F) {
	f.Add(uint8(3), uint8(1), uint8(0), []byte{0x11, 0x22, 0x03, 0x44})
	f.Add(uint8(5), uint8(2), uint8(1), []byte{0x10, 0x10, 0x10})
	f.Fuzz(func(t *testing.T, replicas, surge, unavailable uint8, shape []byte) {
		r, s, u := int(replicas%20), int(surge%5), int(unavailable%5)
		if s == 0 && u == 0 {
			s = 1
		}
		var insts []infrav1.TalisInstance
		for i, b := range shape {
			if i >= 40 {
				break
			}
			state := []string{"pending", "created", "provisioning", "ready"}[b&3]
			hash := "new"
			if b&4 != 0 {
				hash = "old"
			}
			insts = append(insts, inst(int64(i+1), state, hash, time.Duration(b>>3)*time.Minute))
		}
		p := computePlan(rolling(r, s, u), insts, false, t0, time.Minute)
		condemned := map[int64]bool{}
		for _, id := range p.condemn {
			condemned[id] = true
		}
		alive, readyBefore, readyAfter := 0, 0, 0
		for _, in := range insts {
			if shared.InstanceReady(in) {
				readyBefore++
			}
			if !condemned[in.ID] {
				alive++
				if shared.InstanceReady(in) {
					readyAfter++
				}
			}
		}
		if p.create < 0 || (p.create > 0 && alive+p.create > r+s) {
			t.Fatalf("create %d with %d alive exceeds replicas %d + surge %d", p.create, alive, r, s)
		}
		minReady := min(readyBefore, r-u)
		if len(p.timedOut) == 0 && readyAfter < minReady {
			t.Fatalf("ready %d → %d, below the %d maxUnavailable allows", readyBefore, readyAfter, minReady)
		}
	})
}
