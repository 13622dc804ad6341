package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

func talisClient() *talis.APIClient {
	c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// inTalis is the Talis project of that name for the admin owner, asked of Talis itself.
func inTalis(name string) func() (uint, error) {
	return func() (uint, error) {
		p, err := talisClient().GetProject(suiteCtx, talis.ProjectGetParams{Name: name, OwnerID: talis.AdminOwnerID})
		return p.ID, err
	}
}

func recordedName(ns, name string) string {
	got := &infrav1.TalisProject{}
	Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, got)).To(Succeed())
	return got.Status.ProjectName
}

func namespaceNamed(name string) string {
	Expect(k8s.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

var _ = Describe("Talis project ownership", func() {
	var mgr *runningManager
	BeforeEach(func() { mgr = startManager(managerOptions{clusterID: "this-cluster"}) })
	AfterEach(func() { mgr.Stop() })

	It("gives a-b/c and a/b-c different Talis projects, and deleting one leaves the other", func() {
		base := newNamespace()
		nsA, nsB := namespaceNamed(base+"-b"), base
		first, second := newProject(nsA, "c"), newProject(nsB, "b-c")
		create(first)
		Eventually(projectID(nsA, "c"), 20*time.Second).ShouldNot(BeZero())
		create(second)
		Eventually(projectID(nsB, "b-c"), 20*time.Second).ShouldNot(BeZero())
		idA, idB := projectID(nsA, "c")(), projectID(nsB, "b-c")()
		Expect(idA).NotTo(Equal(idB))
		Expect(recordedName(nsA, "c")).NotTo(Equal(recordedName(nsB, "b-c")))

		nameB := recordedName(nsB, "b-c")
		Expect(k8s.Delete(suiteCtx, first)).To(Succeed())
		eventuallyGone(first)
		Expect(inTalis(nameB)()).To(BeEquivalentTo(idB), "the other namespace's project is still in Talis")
	})

	It("adopts a project it did not create only when asked, and never one another TalisProject uses", func() {
		ns, other := newNamespace(), newNamespace()
		name := ns + "-made-outside"
		made, err := talisClient().CreateProject(suiteCtx, talis.ProjectCreateParams{Name: name, OwnerID: talis.AdminOwnerID, Config: `{"settings":{}}`})
		Expect(err).NotTo(HaveOccurred())

		p := newProject(ns, "p")
		p.Spec.ProjectName = name
		create(p)
		Eventually(projectReason(ns, "p"), 20*time.Second).Should(Equal(infrav1.ReasonNotOwned))
		Expect(projectID(ns, "p")()).To(BeZero())
		Eventually(func() string { return joined(eventsFor(ns, "p")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring(infrav1.AdoptAnnotation))
		Expect(k8s.Delete(suiteCtx, p)).To(Succeed())
		eventuallyGone(p)
		Expect(inTalis(name)()).To(Equal(made.ID), "deleting an object that never adopted the project leaves it")

		adopter := newProject(ns, "adopter")
		adopter.Spec.ProjectName = name
		adopter.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
		create(adopter)
		Eventually(projectID(ns, "adopter"), 20*time.Second).Should(BeEquivalentTo(made.ID))

		// Another tenant asks to adopt the same project: refused, and its deletion deletes nothing.
		thief := newProject(other, "thief")
		thief.Spec.ProjectName = name
		thief.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
		create(thief)
		Eventually(projectReason(other, "thief"), 20*time.Second).Should(Equal(infrav1.ReasonProjectInUse))
		Expect(k8s.Delete(suiteCtx, thief)).To(Succeed())
		eventuallyGone(thief)
		Expect(inTalis(name)()).To(Equal(made.ID))

		Expect(k8s.Delete(suiteCtx, adopter)).To(Succeed())
		eventuallyGone(adopter)
		_, err = inTalis(name)()
		Expect(talis.IsNotFound(err)).To(BeTrue(), "the adopter's deletionPolicy Delete removes it: %v", err)
	})

	It("never lets a second TalisProject use or delete a Talis project another created, whatever its status says", func() {
		ns, other := newNamespace(), newNamespace()
		owner := newProject(ns, "owner")
		create(owner)
		Eventually(projectID(ns, "owner"), 20*time.Second).ShouldNot(BeZero())
		name, id := recordedName(ns, "owner"), projectID(ns, "owner")()

		// A second object whose status records the same Talis project: written by someone with
		// access to the status subresource (or left by the colliding default names of versions
		// before creator markers).
		shared := newProject(other, "shared")
		shared.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
		shared.Finalizers = []string{infrav1.Finalizer}
		create(shared)
		// The operator writes the paused status too: retry on its conflicts.
		Eventually(func() error {
			if err := k8s.Get(suiteCtx, client.ObjectKeyFromObject(shared), shared); err != nil {
				return err
			}
			shared.Status = infrav1.TalisProjectStatus{ProjectName: name, ProjectID: id, OwnerID: int64(talis.AdminOwnerID)}
			return k8s.Status().Update(suiteCtx, shared)
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		Eventually(func() error {
			if err := k8s.Get(suiteCtx, client.ObjectKeyFromObject(shared), shared); err != nil {
				return err
			}
			shared.Annotations = nil
			return k8s.Update(suiteCtx, shared)
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		Eventually(projectReason(other, "shared"), 20*time.Second).Should(Equal(infrav1.ReasonNotOwned))
		Eventually(projectReason(ns, "owner"), 10*time.Second).Should(Equal(infrav1.ReasonReady), "the creator keeps it")

		Expect(k8s.Delete(suiteCtx, shared)).To(Succeed())
		eventuallyGone(shared)
		Expect(inTalis(name)()).To(BeEquivalentTo(id), "the project its owner still uses is in Talis")
		Eventually(func() string { return joined(eventsFor(other, "shared")) }, 5*time.Second, 100*time.Millisecond).Should(ContainSubstring("which is not this object's"))

		Expect(k8s.Delete(suiteCtx, owner)).To(Succeed())
		eventuallyGone(owner)
		_, err := inTalis(name)()
		Expect(talis.IsNotFound(err)).To(BeTrue(), "the last user deletes it: %v", err)
	})

	It("takes back a project Talis says it created, without the annotation (a lost create response, an Orphan deletion)", func() {
		ns := newNamespace()
		first := newProject(ns, "p")
		first.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan
		create(first)
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		id := projectID(ns, "p")()
		Expect(k8s.Delete(suiteCtx, first)).To(Succeed())
		eventuallyGone(first)

		create(newProject(ns, "p"))
		Eventually(projectID(ns, "p"), 20*time.Second).Should(Equal(id))
	})
})
