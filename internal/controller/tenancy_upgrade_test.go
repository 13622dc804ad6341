package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

var _ = Describe("Objects from before tenancy", func() {
	It("keep their Talis project name, owner and instance tags after the upgrade", func() {
		ns := newNamespace()
		legacyName := ns + "-p" // the old default
		c := talisClient()
		tp, err := c.CreateProject(suiteCtx, talis.ProjectCreateParams{Name: legacyName, OwnerID: talis.AdminOwnerID})
		Expect(err).NotTo(HaveOccurred())

		// The objects as an older operator left them: status recorded, no endpoint, no identity.
		paused := map[string]string{infrav1.PausedAnnotation: "true"}
		p := newProject(ns, "p")
		p.Annotations, p.Finalizers = paused, []string{infrav1.Finalizer}
		s := newSet(ns, "web", "p", 2)
		s.Annotations, s.Finalizers = paused, []string{infrav1.Finalizer}
		create(p, s)
		p.Status = infrav1.TalisProjectStatus{ProjectName: legacyName, ProjectID: int64(tp.ID), OwnerID: int64(talis.AdminOwnerID)}
		Expect(k8s.Status().Update(suiteCtx, p)).To(Succeed())

		legacy := creates.Identity("", ns, "web")
		s = getSet(s)
		hash := instanceset.TemplateHash(s.Spec.Template)
		tagged := s.DeepCopy()
		tagged.Status.Identity = legacy
		made, err := c.CreateInstance(suiteCtx, []talis.InstanceRequest{instanceset.InstanceRequest(tagged, p, talis.AdminOwnerID,
			&infrav1.PendingCreate{Attempt: 1, Count: 2, TemplateHash: hash})})
		Expect(err).NotTo(HaveOccurred())
		Expect(made).To(HaveLen(2))
		s.Status.LastCreateAttempt = 1
		s.Status.ProjectName = legacyName
		for _, in := range made {
			s.Status.Instances = append(s.Status.Instances, infrav1.TalisInstance{ID: int64(in.ID), Name: in.Name, CreateAttempt: 1, TemplateHash: hash})
		}
		Expect(k8s.Status().Update(suiteCtx, s)).To(Succeed())
		for _, o := range []client.Object{p, s} {
			Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(o), o)).To(Succeed())
			o.SetAnnotations(nil)
			Expect(k8s.Update(suiteCtx, o)).To(Succeed())
		}

		mgr := startManager(managerOptions{clusterID: "upgraded"})
		DeferCleanup(mgr.Stop)
		eventuallyReady(s, 2)
		Eventually(projectReason(ns, "p"), 20*time.Second).Should(Equal(infrav1.ReasonReady))
		got := &infrav1.TalisProject{}
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Status.ProjectName).To(Equal(legacyName))
		Expect(got.Status.ProjectID).To(BeEquivalentTo(tp.ID))
		Expect(got.Status.Endpoint).To(Equal(talisURL), "the endpoint it used is recorded")
		Expect(getSet(s).Status.Identity).To(Equal(legacy))

		// Talis's side: the same two instances, and a scale-up tagged with the identity they carry.
		Expect(liveTagged(legacy)).To(HaveLen(2))
		s = getSet(s)
		s.Spec.Replicas = ptr.To[int32](3)
		Expect(k8s.Update(suiteCtx, s)).To(Succeed())
		Eventually(func() []uint64 { return liveTagged(legacy) }, 30*time.Second).Should(HaveLen(3))
		Expect(liveTagged(creates.Identity("upgraded", ns, "web"))).To(BeEmpty())

		Expect(k8s.Delete(suiteCtx, s)).To(Succeed())
		eventuallyGone(s)
		Expect(liveTagged(legacy)).To(BeEmpty())
	})

	It("gives a new set in an upgraded cluster the cluster's identity", func() {
		ns := newNamespace()
		mgr := startManager(managerOptions{clusterID: "upgraded"})
		DeferCleanup(mgr.Stop)
		p, s := newProject(ns, "p"), newSet(ns, "web", "p", 1)
		create(p, s)
		eventuallyReady(s, 1)
		id := creates.Identity("upgraded", ns, "web")
		Expect(getSet(s).Status.Identity).To(Equal(id))
		Expect(liveTagged(id)).To(HaveLen(1))
		Expect(liveTagged(creates.Identity("", ns, "web"))).To(BeEmpty())

		// The recorded identity cannot be rewritten to another set's.
		got := getSet(s)
		got.Status.Identity = creates.Identity("upgraded", ns, "other")
		Expect(k8s.Status().Update(suiteCtx, got)).To(MatchError(ContainSubstring("identity cannot change once recorded")))
	})
})
