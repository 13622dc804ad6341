package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

var _ = Describe("The paused annotation", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpecWithManager(&ns, &mgr)

	setPaused := func(o client.Object, value string) {
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(o), o)).To(Succeed())
		patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
		o.SetAnnotations(map[string]string{infrav1.PausedAnnotation: value})
		Expect(k8s.Patch(suiteCtx, o, patch)).To(Succeed())
	}

	It("pauses both kinds only with \"true\", and kubectl get prints Paused", func() {
		p := newProject(ns, "p")
		p.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
		s := newSet(ns, "web", "p", 2)
		s.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
		create(p, s)

		Eventually(func(g Gomega) {
			g.Expect(printedRow(g, "talisprojects", ns, "p")).To(HaveKeyWithValue("Status", infrav1.ReasonPaused))
			g.Expect(printedRow(g, "talisinstancesets", ns, "web")).To(HaveKeyWithValue("Status", infrav1.ReasonPaused))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
		Expect(err).NotTo(HaveOccurred())
		_, err = c.GetProject(suiteCtx, talis.ProjectGetParams{Name: ns + ".p", OwnerID: talis.AdminOwnerID})
		Expect(talis.IsNotFound(err)).To(BeTrue(), "a paused project is not created in Talis: %v", err)
		Eventually(func() []string { return eventsFor(ns, "p") }, 10*time.Second, 100*time.Millisecond).
			Should(ContainElement(HavePrefix(infrav1.ReasonPaused + ":")))

		// "false" means not paused.
		setPaused(p, "false")
		setPaused(s, "false")
		eventuallyReady(s, 2)
		_, err = c.GetProject(suiteCtx, talis.ProjectGetParams{Name: ns + ".p", OwnerID: talis.AdminOwnerID})
		Expect(err).NotTo(HaveOccurred())
		Expect(printedRow(Default, "talisprojects", ns, "p")).To(HaveKeyWithValue("Status", infrav1.ReasonReady))

		// Pausing a Ready set keeps Ready's status and shows Paused; no Talis call scales it.
		setPaused(s, "true")
		Eventually(func(g Gomega) {
			g.Expect(printedRow(g, "talisinstancesets", ns, "web")).To(HaveKeyWithValue("Status", infrav1.ReasonPaused))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		ready := condition(getSet(s), infrav1.ConditionReady)
		Expect(string(ready.Status)).To(Equal("True"))
		patchReplicas(s, 3)
		Consistently(liveCount(ns, "web"), 2*time.Second, 200*time.Millisecond).Should(Equal(2))
	})
})
