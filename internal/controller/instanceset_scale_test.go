package controller

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

var _ = Describe("A TalisInstanceSet for autoscalers and kubectl", func() {
	var (
		ns  string
		mgr *runningManager
	)
	eachSpecWithManager(&ns, &mgr)

	It("serves a selector on /scale, as an HPA reads it, and prints an IP summary", func() {
		create(newProject(ns, "p"))
		s := newSet(ns, "web", "p", 5)
		create(s)
		got := eventuallyReady(s, 5)

		// What the HPA controller does: GET the scale subresource and parse its selector.
		scale := &autoscalingv1.Scale{}
		Expect(k8s.SubResource("scale").Get(suiteCtx, s, scale)).To(Succeed())
		Expect(scale.Spec.Replicas).To(BeEquivalentTo(5))
		Expect(scale.Status.Replicas).To(BeEquivalentTo(5))
		Expect(scale.Status.Selector).To(Equal(infrav1.InstanceSetLabel + "=web"))
		_, err := labels.Parse(scale.Status.Selector)
		Expect(err).NotTo(HaveOccurred())

		// What it writes back: spec.replicas through /scale.
		scale.Spec.Replicas = 6
		Expect(k8s.SubResource("scale").Update(suiteCtx, s, client.WithSubResourceBody(scale))).To(Succeed())
		got = eventuallyReady(s, 6)

		ips := got.Status.PublicIPs
		want := strings.Join(ips[:3], ", ") + " +3 more"
		Expect(got.Status.PublicIPSummary).To(Equal(want))
		Eventually(func(g Gomega) {
			g.Expect(printedRow(g, "talisinstancesets", ns, "web")).To(HaveKeyWithValue("IPs", want))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})
})
