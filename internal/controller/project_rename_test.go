package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

var _ = Describe("TalisProject names and config", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	talisClient := func() talis.Client {
		c, err := talis.NewClient(&talis.Options{BaseURL: talisURL})
		Expect(err).NotTo(HaveOccurred())
		return c
	}
	getProject := func(name string) *infrav1.TalisProject {
		p := &infrav1.TalisProject{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
		return p
	}
	edit := func(name string, mutate func(*infrav1.TalisProject)) error {
		p := getProject(name)
		mutate(p)
		return k8s.Update(suiteCtx, p)
	}
	readyReason := func(name string) func() string {
		return func() string { return shared.ReasonOf(getProject(name).Status.Conditions, infrav1.ConditionReady) }
	}

	It("lets a NameReserved project be fixed by editing spec.projectName, then refuses name and config edits", func() {
		mgr := startManager(managerOptions{})
		defer mgr.Stop()
		reserved := reservedTalisName(ns, "-sticky")

		second := newProject(ns, "second")
		second.Spec.ProjectName = reserved
		second.Spec.Config = &apiextensionsv1.JSON{Raw: []byte(`{"resources":{},"settings":{"team":"a"}}`)}
		create(second)
		Eventually(readyReason("second"), 20*time.Second, 100*time.Millisecond).Should(Equal(infrav1.ReasonNameReserved))
		msg := shared.FindCondition(getProject("second").Status.Conditions, infrav1.ConditionReady).Message
		Expect(msg).To(ContainSubstring("set spec.projectName to another name (it can be changed until a Talis project has been created for this object)"))

		// What the message says works: before creation both the name and the config may change.
		fixed := ns + "-fixed"
		Expect(edit("second", func(p *infrav1.TalisProject) {
			p.Spec.ProjectName = fixed
			p.Spec.Config = &apiextensionsv1.JSON{Raw: []byte(`{"resources":{},"settings":{"team":"b"}}`)}
		})).To(Succeed())
		Eventually(projectID(ns, "second"), 20*time.Second).ShouldNot(BeZero())
		Expect(getProject("second").Status.ProjectName).To(Equal(fixed))
		got, err := talisClient().GetProject(suiteCtx, talis.ProjectGetParams{Name: fixed, OwnerID: talis.AdminOwnerID})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Config).To(ContainSubstring(`"team":"b"`))

		// Once it exists in Talis, neither can change.
		const nameFixed = "spec.projectName cannot be set, changed or removed once the Talis project has been created"
		const configFixed = "spec.config cannot be changed once the Talis project has been created"
		for _, c := range []struct {
			want   string
			mutate func(*infrav1.TalisProject)
		}{
			{nameFixed, func(p *infrav1.TalisProject) { p.Spec.ProjectName = ns + "-later" }},
			{nameFixed, func(p *infrav1.TalisProject) { p.Spec.ProjectName = "" }},
			{configFixed, func(p *infrav1.TalisProject) {
				p.Spec.Config = &apiextensionsv1.JSON{Raw: []byte(`{"resources":{},"settings":{"team":"c"}}`)}
			}},
			{configFixed, func(p *infrav1.TalisProject) { p.Spec.Config = nil }},
		} {
			err := edit("second", c.mutate)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", c.want, err)
			Expect(err.Error()).To(ContainSubstring(c.want))
		}
		// Other edits still go through.
		Expect(edit("second", func(p *infrav1.TalisProject) { p.Spec.DeletionPolicy = infrav1.DeletionPolicyOrphan })).To(Succeed())
	})

	It("deletes its own project left under the old name by a lost create response before using the new name", func() {
		old, renamed := ns+"-old", ns+"-new"
		// The create is applied and its response lost; lookups fail after it, and ErrorRetry is
		// long, so this manager never learns the outcome.
		slow := testTiming()
		slow.ErrorRetry = time.Hour
		emu.SetFaults(faultsFor("RPC project.create", commitThenDrop(0)))
		mgr := startManager(managerOptions{timing: &slow})
		p := newProject(ns, "p")
		p.Spec.ProjectName = old
		create(p)
		Eventually(func() error {
			_, err := talisClient().GetProject(suiteCtx, talis.ProjectGetParams{Name: old, OwnerID: talis.AdminOwnerID})
			return err
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		Eventually(readyReason("p"), 20*time.Second, 100*time.Millisecond).Should(Equal(infrav1.ReasonTalisUnavailable))
		mgr.Stop()
		emu.SetFaults(noFaults())
		Expect(getProject("p").Status.ProjectName).To(Equal(old))
		Expect(getProject("p").Status.ProjectID).To(BeZero())

		Expect(edit("p", func(p *infrav1.TalisProject) { p.Spec.ProjectName = renamed })).To(Succeed())
		mgr = startManager(managerOptions{})
		defer mgr.Stop()
		Eventually(projectID(ns, "p"), 20*time.Second).ShouldNot(BeZero())
		Expect(getProject("p").Status.ProjectName).To(Equal(renamed))
		_, err := talisClient().GetProject(suiteCtx, talis.ProjectGetParams{Name: old, OwnerID: talis.AdminOwnerID})
		Expect(talis.IsNotFound(err)).To(BeTrue(), "the project under the old name is deleted in Talis: %v", err)
		Eventually(func() []string { return eventsFor(ns, "p") }, 5*time.Second, 100*time.Millisecond).Should(ContainElement(ContainSubstring("created under the previous spec.projectName")))
	})
})

// reservedTalisName creates a Talis project through a TalisProject and deletes it: Talis keeps
// the name reserved forever, so a later project asking for it is NameReserved.
func reservedTalisName(ns, suffix string) string {
	name := ns + suffix
	first := newProject(ns, "first")
	first.Spec.ProjectName = name
	create(first)
	EventuallyWithOffset(1, projectID(ns, "first"), 20*time.Second).ShouldNot(BeZero())
	ExpectWithOffset(1, k8s.Delete(suiteCtx, first)).To(Succeed())
	eventuallyGone(first)
	return name
}
