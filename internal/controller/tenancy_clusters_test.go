package controller

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/creates"
)

// liveTagged lists the live instances in Talis's ledger carrying the set identity.
func liveTagged(identity string) []uint64 {
	var out []uint64
	for _, e := range emu.Ledger() {
		for _, t := range e.Tags {
			if t == creates.TagSetPrefix+identity && e.Status != "terminated" {
				out = append(out, e.ID)
			}
		}
	}
	return out
}

var _ = Describe("Two clusters on one Talis", func() {
	It("never touch each other's projects or instances, with the same namespace and names in both", func() {
		env2 := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
		cfg2, err := env2.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env2.Stop)
		k2, err := client.New(cfg2, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())

		ns := newNamespace()
		Expect(k2.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		east := startManager(managerOptions{clusterID: "east"})
		DeferCleanup(east.Stop)
		west := startManager(managerOptions{clusterID: "west", restConfig: cfg2})
		DeferCleanup(west.Stop)

		for _, c := range []client.Client{k8s, k2} {
			Expect(c.Create(suiteCtx, newProject(ns, "p"))).To(Succeed())
			Expect(c.Create(suiteCtx, newSet(ns, "web", "p", 2))).To(Succeed())
		}
		eastID, westID := creates.Identity("east", ns, "web"), creates.Identity("west", ns, "web")
		Eventually(func() []uint64 { return liveTagged(eastID) }, 30*time.Second).Should(HaveLen(2))
		Eventually(func() []uint64 { return liveTagged(westID) }, 30*time.Second).Should(HaveLen(2))
		westLive := liveTagged(westID)

		projects := map[uint64]bool{}
		for _, e := range emu.Ledger() {
			for _, t := range e.Tags {
				if t == creates.TagSetPrefix+eastID || t == creates.TagSetPrefix+westID {
					projects[e.ProjectID] = true
				}
			}
		}
		Expect(projects).To(HaveLen(2), "each cluster has its own Talis project")

		// Scaling and deleting in one cluster leave the other's instances alone.
		web := &infrav1.TalisInstanceSet{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "web"}, web)).To(Succeed())
		web.Spec.Replicas = ptr.To[int32](1)
		Expect(k8s.Update(suiteCtx, web)).To(Succeed())
		Eventually(func() []uint64 { return liveTagged(eastID) }, 30*time.Second).Should(HaveLen(1))
		Expect(k8s.Delete(suiteCtx, web)).To(Succeed())
		eventuallyGone(web)
		Expect(liveTagged(eastID)).To(BeEmpty())
		Consistently(func() []uint64 { return liveTagged(westID) }, 2*time.Second).Should(Equal(westLive))
	})
})
