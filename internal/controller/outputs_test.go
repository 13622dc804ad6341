package controller

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/outputs"
	"github.com/talis-operator/talis-operator/test/harness"
)

var _ = Describe("Fleet outputs", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	withOutputs := func(s *infrav1.TalisInstanceSet, name string) *infrav1.TalisInstanceSet {
		s.Spec.Outputs = &infrav1.InstanceSetOutputs{ConfigMapName: name}
		return s
	}

	It("publishes the ready instances, follows a scale, is the set's own and is left alone by polls that change nothing", func() {
		timing := testTiming()
		timing.Resync = time.Second // steady polls that find nothing new
		writes := &configMapWrites{}
		mgr := startManager(managerOptions{timing: &timing, wrapClient: func(c client.Client) client.Client { writes.Client = c; return writes }})
		defer mgr.Stop()
		create(newProject(ns, "p"))
		set := withOutputs(newSet(ns, "web", "p", 2), "web-hosts")
		create(set)
		got := eventuallyReady(set, 2)
		cm := eventuallyPublished(got)
		Expect(cm.Data).To(HaveKey(infrav1.OutputsKeyJSON))
		Expect(cm.Labels).To(HaveKeyWithValue(infrav1.OutputsLabel, "web"))
		owner := metav1.GetControllerOf(cm)
		Expect(owner).NotTo(BeNil(), "a controller owner reference: deleted with the set (envtest runs no garbage collector)")
		Expect(owner.UID).To(Equal(got.UID))
		Expect(owner.Kind).To(Equal("TalisInstanceSet"))
		Expect(*owner.BlockOwnerDeletion).To(BeTrue())
		inv := harness.ParseInventory(Default, cm.Data[infrav1.OutputsKeyAnsible])
		Expect(inv.All.Children["web"].Hosts).To(HaveLen(2))

		sent := writes.count()
		Expect(sent).To(BeNumerically(">=", 1))
		version := cm.ResourceVersion
		// An update of the set that changes no instance has the outputs looked at again.
		touched := getSet(set)
		patch := client.MergeFrom(touched.DeepCopy())
		touched.Annotations = map[string]string{"example.com/touched": "yes"}
		Expect(k8s.Patch(suiteCtx, touched, patch)).To(Succeed())
		Consistently(func() string { return configMap(ns, "web-hosts").ResourceVersion }, 3*time.Second, 200*time.Millisecond).
			Should(Equal(version), "steady polls change nothing")
		Expect(writes.count()).To(Equal(sent), "and send no ConfigMap write either")

		patchReplicas(set, 4)
		eventuallyPublished(eventuallyReady(set, 4))
		patchReplicas(set, 1)
		Eventually(func() int { return len(instanceIDsOf(getSet(set))) }, 30*time.Second).Should(Equal(1))
		cm = eventuallyPublished(eventuallyReady(set, 1))
		Expect(strings.Count(cm.Data[infrav1.OutputsKeyIPs], "\n")).To(Equal(1))
	})

	It("undoes edits, puts its label back and makes a deleted ConfigMap again", func() {
		mgr := startManager(managerOptions{})
		defer mgr.Stop()
		create(newProject(ns, "p"))
		set := withOutputs(newSet(ns, "web", "p", 2), "web-hosts")
		set.Spec.Outputs.Formats = []infrav1.OutputFormat{infrav1.OutputIPs, infrav1.OutputAnsible}
		create(set)
		cm := eventuallyPublished(eventuallyReady(set, 2))
		Expect(cm.Data).NotTo(HaveKey(infrav1.OutputsKeyJSON), "only the formats asked for")
		want := cm.Data

		cm.Data = map[string]string{infrav1.OutputsKeyIPs: "192.0.2.66\n", "extra": "x"}
		cm.BinaryData = map[string][]byte{"blob": {1}}
		Expect(k8s.Update(suiteCtx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			got := configMap(ns, "web-hosts")
			g.Expect(got.Data).To(Equal(want))
			g.Expect(got.BinaryData).To(BeEmpty())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())

		// Without the label it drops out of the manager's cache: it is found by name all the same.
		cm = configMap(ns, "web-hosts")
		delete(cm.Labels, infrav1.OutputsLabel)
		cm.Data = map[string]string{"edited": "while unlabelled"}
		Expect(k8s.Update(suiteCtx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			got := configMap(ns, "web-hosts")
			g.Expect(got.Labels).To(HaveKeyWithValue(infrav1.OutputsLabel, "web"))
			g.Expect(got.Data).To(Equal(want))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())

		old := configMap(ns, "web-hosts")
		Expect(k8s.Delete(suiteCtx, old)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &corev1.ConfigMap{}
			g.Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "web-hosts"}, got)).To(Succeed())
			g.Expect(got.UID).NotTo(Equal(old.UID))
			g.Expect(got.Data).To(Equal(want))
			g.Expect(metav1.IsControlledBy(got, getSet(set))).To(BeTrue())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	It("never overwrites a ConfigMap that is not its own, stalls with the reason while the fleet stays Ready, and recovers", func() {
		mgr := startManager(managerOptions{})
		defer mgr.Stop()
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}, Data: map[string]string{"mine": "yes"}}
		create(foreign, newProject(ns, "p"))
		set := withOutputs(newSet(ns, "web", "p", 2), "taken")
		create(set)
		eventuallyReady(set, 2)
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonOutputsNotOwned)
		got := getSet(set)
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		Expect(condition(got, infrav1.ConditionStalled).Message).To(ContainSubstring(`ConfigMap "taken" already exists`))
		Expect(condition(got, infrav1.ConditionReconciling).Status).To(Equal(metav1.ConditionFalse))
		Expect(condition(got, infrav1.ConditionReady).Status).To(Equal(metav1.ConditionTrue), "the fleet itself is as asked")
		Expect(condition(got, infrav1.ConditionReady).Reason).To(Equal(infrav1.ReasonReady))
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.FailedStatus))
		Expect(argoHealth(unstructuredSet(set))).To(Equal("Degraded"))
		Eventually(func() []string { return warnings(ns, "web") }, 10*time.Second).
			Should(ContainElement(HavePrefix(infrav1.ReasonOutputsNotOwned + ": ")))
		kept := configMap(ns, "taken")
		Expect(kept.Data).To(Equal(map[string]string{"mine": "yes"}))
		Expect(kept.OwnerReferences).To(BeEmpty())
		Expect(kept.ResourceVersion).To(Equal(foreign.ResourceVersion), "not written at all")

		// One owned by another set is not this one's either, label or not.
		other := withOutputs(newSet(ns, "api", "p", 1), "api-hosts")
		create(other)
		eventuallyPublished(eventuallyReady(other, 1))
		patch := client.MergeFrom(getSet(set))
		renamed := getSet(set)
		renamed.Spec.Outputs.ConfigMapName = "api-hosts"
		Expect(k8s.Patch(suiteCtx, renamed, patch)).To(Succeed())
		Eventually(func() string {
			return condition(getSet(set), infrav1.ConditionStalled).Message
		}, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring(`ConfigMap "api-hosts" already exists and is not this set's own (it belongs to TalisInstanceSet "api")`))
		Expect(metav1.IsControlledBy(configMap(ns, "api-hosts"), getSet(other))).To(BeTrue())

		// Another name: published there, and the stall goes.
		patch = client.MergeFrom(getSet(set))
		renamed = getSet(set)
		renamed.Spec.Outputs.ConfigMapName = "web-hosts"
		Expect(k8s.Patch(suiteCtx, renamed, patch)).To(Succeed())
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonAsExpected)
		eventuallyPublished(eventuallyReady(set, 2))
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.CurrentStatus))
		Expect(configMap(ns, "taken").Data).To(Equal(map[string]string{"mine": "yes"}))
	})

	It("publishes once the foreign ConfigMap is removed, though it was never watched", func() {
		timing := testTiming() // ErrorRetry 1s: how soon a stalled set looks again
		mgr := startManager(managerOptions{timing: &timing})
		defer mgr.Stop()
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"}}
		create(foreign, newProject(ns, "p"))
		set := withOutputs(newSet(ns, "web", "p", 1), "taken")
		create(set)
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonOutputsNotOwned)
		Expect(k8s.Delete(suiteCtx, foreign)).To(Succeed())
		eventuallyPublished(eventuallyReady(set, 1))
		eventuallyCondition(set, infrav1.ConditionStalled, infrav1.ReasonAsExpected)
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonReconcileSuccess)
	})

	It("says so when its ConfigMap cannot be written, and writes it again once it can", func() {
		mgr := startManager(managerOptions{})
		defer mgr.Stop()
		create(newProject(ns, "p"))
		set := withOutputs(newSet(ns, "web", "p", 1), "web-hosts")
		create(set)
		cm := eventuallyPublished(eventuallyReady(set, 1))
		cm.Immutable = ptr.To(true)
		Expect(k8s.Update(suiteCtx, cm)).To(Succeed())

		patchReplicas(set, 2)
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonOutputsNotWritten)
		got := eventuallyReady(set, 2)
		Expect(condition(got, infrav1.ConditionSynced).Message).To(ContainSubstring("immutable"))
		Expect(condition(got, infrav1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse), "retried, not stalled")
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.InProgressStatus))
		Eventually(func() []string { return warnings(ns, "web") }, 10*time.Second).
			Should(ContainElement(HavePrefix(infrav1.ReasonOutputsNotWritten + ": ")))

		Expect(k8s.Delete(suiteCtx, configMap(ns, "web-hosts"))).To(Succeed())
		eventuallyPublished(got)
		eventuallyCondition(set, infrav1.ConditionSynced, infrav1.ReasonReconcileSuccess)
		Expect(kstatusOf(unstructuredSet(set))).To(Equal(status.CurrentStatus))
	})

	It("keeps only labelled ConfigMaps in the manager's cache", func() {
		create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outputs", Labels: map[string]string{infrav1.OutputsLabel: "web"}}})
		c, err := cache.New(cfg, cache.Options{Scheme: scheme, ByObject: CacheByObject()})
		Expect(err).NotTo(HaveOccurred())
		go func() { _ = c.Start(suiteCtx) }()
		Expect(c.WaitForCacheSync(suiteCtx)).To(BeTrue())
		Eventually(func(g Gomega) {
			var list corev1.ConfigMapList
			g.Expect(c.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			var names []string
			for _, cm := range list.Items {
				names = append(names, cm.Name)
			}
			g.Expect(names).To(Equal([]string{"outputs"}))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})
})

func configMap(ns, name string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	ExpectWithOffset(1, k8s.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: name}, cm)).To(Succeed())
	return cm
}

// eventuallyPublished waits until the set's ConfigMap holds what its status says: the IPs of
// status.publicIPs, one per line, and the rest rendered from the same instances.
func eventuallyPublished(s *infrav1.TalisInstanceSet) *corev1.ConfigMap {
	var cm *corev1.ConfigMap
	EventuallyWithOffset(1, func(g Gomega) {
		got := getSet(s)
		cm = &corev1.ConfigMap{}
		err := k8s.Get(suiteCtx, types.NamespacedName{Namespace: got.Namespace, Name: got.Spec.Outputs.ConfigMapName}, cm)
		g.Expect(apierrors.IsNotFound(err)).To(BeFalse(), "no ConfigMap yet")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(metav1.IsControlledBy(cm, got)).To(BeTrue())
		g.Expect(cm.Data).To(Equal(outputs.Render(got.Name, got.Spec.Outputs.Formats, got.Status.Instances)))
		if ips, ok := cm.Data[infrav1.OutputsKeyIPs]; ok {
			g.Expect(ips).To(Equal(strings.Join(append(got.Status.PublicIPs, ""), "\n")))
		}
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	return cm
}

// configMapWrites counts the ConfigMap writes the manager sends, changed or not.
type configMapWrites struct {
	client.Client
	n atomic.Int64
}

func (c *configMapWrites) note(o client.Object) {
	if _, ok := o.(*corev1.ConfigMap); ok {
		c.n.Add(1)
	}
}

func (c *configMapWrites) count() int64 { return c.n.Load() }

func (c *configMapWrites) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	c.note(o)
	return c.Client.Create(ctx, o, opts...)
}

func (c *configMapWrites) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	c.note(o)
	return c.Client.Update(ctx, o, opts...)
}

func (c *configMapWrites) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.note(o)
	return c.Client.Patch(ctx, o, p, opts...)
}
