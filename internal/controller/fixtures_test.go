package controller

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

var nsCounter atomic.Int64

// newNamespace makes a namespace for one test; Talis project names are global and stay taken
// after deletion, so names derived from it never collide across tests or runs.
// eachSpec gives every spec of the container a namespace of its own, and stops the manager the
// spec started (mgr), if any.
func eachSpec(ns *string, mgr **runningManager) {
	BeforeEach(func() { *ns, *mgr = newNamespace(), nil })
	AfterEach(func() {
		if *mgr != nil {
			(*mgr).Stop()
		}
	})
}

// eachSpecWithManager is eachSpec with a manager of default options started for every spec.
func eachSpecWithManager(ns *string, mgr **runningManager) {
	eachSpec(ns, mgr)
	BeforeEach(func() { *mgr = startManager(managerOptions{}) })
}

func newNamespace() string {
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1_000_000_000, nsCounter.Add(1))
	Expect(k8s.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	specNamespaces = append(specNamespaces, name)
	return name
}

// newProject and newSet are the harness's fixtures, shared with the reliability and chaos suites.
func newProject(ns, name string) *infrav1.TalisProject { return harness.Project(ns, name) }

func newSet(ns, name, project string, replicas int32) *infrav1.TalisInstanceSet {
	return harness.Set(ns, name, project, replicas)
}

func create(objs ...client.Object) {
	for _, o := range objs {
		Expect(k8s.Create(suiteCtx, o)).To(Succeed())
	}
}

func getSet(s *infrav1.TalisInstanceSet) *infrav1.TalisInstanceSet {
	out := &infrav1.TalisInstanceSet{}
	Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(s), out)).To(Succeed())
	return out
}

// ledger returns every instance the emulator ever created for a set, live or not.
func ledger(ns, name string) (all, live []emulator.LedgerEntry) {
	tag := creates.TagSetPrefix + creates.Identity("", ns, name)
	for _, e := range emu.Ledger() {
		for _, t := range e.Tags {
			if t == tag {
				all = append(all, e)
				if e.Status != "terminated" {
					live = append(live, e)
				}
			}
		}
	}
	return all, live
}

func liveCount(ns, name string) func() int {
	return func() int { _, live := ledger(ns, name); return len(live) }
}

func condition(s *infrav1.TalisInstanceSet, typ string) *metav1.Condition {
	return meta.FindStatusCondition(s.Status.Conditions, typ)
}

// eventuallyReady waits for the set to be Ready with n ready instances and n IPs.
func eventuallyReady(s *infrav1.TalisInstanceSet, n int) *infrav1.TalisInstanceSet {
	var got *infrav1.TalisInstanceSet
	EventuallyWithOffset(1, func(g Gomega) {
		got = &infrav1.TalisInstanceSet{}
		g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(s), got)).To(Succeed())
		c := condition(got, infrav1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.ReadyReplicas).To(BeEquivalentTo(n))
		g.Expect(got.Status.PublicIPs).To(HaveLen(n))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	return got
}

func eventuallyGone(o client.Object) {
	EventuallyWithOffset(1, func() bool {
		return apierrors.IsNotFound(k8s.Get(suiteCtx, client.ObjectKeyFromObject(o), o))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "%s still exists", o.GetName())
}

func eventuallyCondition(s *infrav1.TalisInstanceSet, typ, reason string) {
	EventuallyWithOffset(1, func(g Gomega) {
		got := getSet(s)
		c := condition(got, typ)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reason), "%s: %s", typ, c.Message)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// eventsFor lists the reasons of events recorded about an object.
func eventsFor(ns, name string) []string {
	var list corev1.EventList
	Expect(k8s.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

func joined(s []string) string { return strings.Join(s, "\n") }

var _ = BeforeEach(func() {
	emu.SetFaults(emulator.Faults{})
	// Registered first, so it runs last: after the spec's own cleanups have stopped its managers.
	DeferCleanup(clearSpecNamespaces)
})

// specNamespaces are the namespaces made during the running spec.
var specNamespaces []string

// clearSpecNamespaces removes what a spec left in its namespaces once its managers are stopped:
// envtest has no namespace controller, and every later manager watches all namespaces, so 70
// specs' leftovers queued ahead of a new spec's project (a spec waited 30 s behind them once).
// Finalizers are dropped: what they guard was the spec's to check.
func clearSpecNamespaces() {
	for _, ns := range specNamespaces {
		for _, list := range []client.ObjectList{&infrav1.TalisInstanceSetList{}, &infrav1.TalisProjectList{}} {
			Expect(k8s.List(suiteCtx, list, client.InNamespace(ns))).To(Succeed())
			Expect(meta.EachListItem(list, func(o runtime.Object) error {
				obj := o.(client.Object)
				if len(obj.GetFinalizers()) > 0 {
					patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
					obj.SetFinalizers(nil)
					if err := k8s.Patch(suiteCtx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
						return err
					}
				}
				return client.IgnoreNotFound(k8s.Delete(suiteCtx, obj))
			})).To(Succeed())
		}
	}
	specNamespaces = nil
}
