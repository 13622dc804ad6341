package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/metrics"
)

// conflictingStatus refuses the next `left` status writes of one set with a conflict, as the
// apiserver does when another writer got there first.
type conflictingStatus struct {
	client.Client
	name string
	left atomic.Int32
}

func (c *conflictingStatus) Status() client.SubResourceWriter {
	return conflictingWriter{c.Client.Status(), c}
}

type conflictingWriter struct {
	client.SubResourceWriter
	c *conflictingStatus
}

func (w conflictingWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if _, ok := obj.(*infrav1.TalisInstanceSet); ok && obj.GetName() == w.c.name && w.c.left.Add(-1) >= 0 {
		return apierrors.NewConflict(schema.GroupResource{Group: infrav1.GroupVersion.Group, Resource: "talisinstancesets"},
			obj.GetName(), errors.New("the object has been modified"))
	}
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

var _ = Describe("TalisInstanceSet reports", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpec(&ns, &mgr)

	It("counts and reports an outside terminate once, though the writes recording it conflict", func() {
		timing := testTiming()
		timing.DriftPoll = 300 * time.Millisecond
		writes := &conflictingStatus{name: "web"}
		mgr = startManager(managerOptions{timing: &timing, wrapClient: func(c client.Client) client.Client { writes.Client = c; return writes }})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 1)
		create(set)
		victim := eventuallyReady(set, 1).Status.Instances[0].ID

		before := testutil.ToFloat64(metrics.DriftReplacements)
		writes.left.Store(3) // each conflict makes the next poll merge the same snapshot news again
		terminateDirectly(getSet(set).Status.ProjectName, victim)
		Eventually(func() []int64 { return instanceIDsOf(getSet(set)) }, 15*time.Second, 50*time.Millisecond).
			ShouldNot(ContainElement(victim))
		eventuallyReady(set, 1)
		Expect(writes.left.Load()).To(BeNumerically("<", 0), "the status writes did not conflict")
		Expect(testutil.ToFloat64(metrics.DriftReplacements) - before).To(BeEquivalentTo(1))
	})

	It("names the instances that missed the provisioning timeout in a Warning event, which a create failure's condition cannot hide", func() {
		slow := suiteDelays
		slow.Create = 4 * time.Second
		emu.SetDelays(slow)
		DeferCleanup(func() { emu.SetDelays(suiteDelays) })
		mgr = startManager(managerOptions{})
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 1)
		set.Spec.ProvisioningTimeout = &metav1.Duration{Duration: time.Second}
		create(set)
		Eventually(func() int { all, _ := ledger(ns, "web"); return len(all) }, 20*time.Second).Should(BeNumerically(">=", 1))
		all, _ := ledger(ns, "web")
		first := int64(all[0].ID)
		Eventually(func() []string { return eventsOfType(ns, "web", "Warning") }, 20*time.Second, 100*time.Millisecond).Should(
			ContainElement(And(HavePrefix(infrav1.ReasonProvisioningTimeout+": "), ContainSubstring(itoa(first)))))
	})
})
