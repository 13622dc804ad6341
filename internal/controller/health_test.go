package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// GitOps tools judge health from status alone: Flux (and kubectl wait) through kstatus, Argo CD
// through our Lua health check. Both are run here against objects the operator really wrote.
var _ = Describe("Health as GitOps tools read it", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpecWithManager(&ns, &mgr)

	It("is InProgress/Progressing while converging or retrying Talis errors, Current/Healthy when ready", func() {
		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		slow := emulator.Delays{Pickup: 50 * time.Millisecond, Create: 2 * time.Second, Ready: time.Second, Terminate: 100 * time.Millisecond}
		saved := emu.Delays()
		emu.SetDelays(slow)
		defer emu.SetDelays(saved)

		set := newSet(ns, "web", "p", 2)
		create(set)
		Eventually(func(g Gomega) {
			u := unstructuredSet(set)
			g.Expect(u.Object["status"]).NotTo(BeNil())
			g.Expect(kstatusOf(u)).To(Equal(status.InProgressStatus))
			g.Expect(argoHealth(u)).To(Equal("Progressing"))
		}, 20*time.Second, 50*time.Millisecond).Should(Succeed())

		eventuallyReady(set, 2)
		u := unstructuredSet(set)
		Expect(kstatusOf(u)).To(Equal(status.CurrentStatus))
		Expect(argoHealth(u)).To(Equal("Healthy"))

		emu.SetFaults(emulator.Faults{Routes: map[string]emulator.RouteFault{"*": {GatewayErrorRate: 1, GatewayStatus: 503}}})
		patchReplicas(set, 3)
		// A Talis outage is retried: neither Flux nor Argo CD reads it as a failure.
		Eventually(func(g Gomega) {
			got := getSet(set)
			c := condition(got, infrav1.ConditionSynced)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(infrav1.ReasonTalisUnavailable))
			u := unstructuredSet(set)
			g.Expect(kstatusOf(u)).To(Equal(status.InProgressStatus))
			g.Expect(argoHealth(u)).To(Equal("Progressing"))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
		emu.SetFaults(noFaults())
		eventuallyReady(set, 3)
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.CurrentStatus))
	})

	It("reads a paused set as Suspended in Argo CD, and paused=false as not paused", func() {
		create(newProject(ns, "p"))
		set := newSet(ns, "web", "p", 1)
		set.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
		create(set)
		Expect(argoHealth(unstructuredSet(set))).To(Equal("Suspended"))
		unpaused := newSet(ns, "api", "p", 1)
		unpaused.Annotations = map[string]string{infrav1.PausedAnnotation: "false"}
		create(unpaused)
		Expect(argoHealth(unstructuredSet(unpaused))).NotTo(Equal("Suspended"))
	})
})

func unstructuredSet(s *infrav1.TalisInstanceSet) *unstructured.Unstructured {
	got := getSet(s)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(got)
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(infrav1.GroupVersion.WithKind("TalisInstanceSet"))
	return u
}

func kstatusOf(u *unstructured.Unstructured) status.Status {
	res, err := status.Compute(u)
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// argoHealth runs docs/health/argocd.lua the way Argo CD does: a global obj, a returned table.
func argoHealth(u *unstructured.Unstructured) string {
	h, err := harness.ArgoHealth(u.Object)
	Expect(err).NotTo(HaveOccurred())
	return h
}
