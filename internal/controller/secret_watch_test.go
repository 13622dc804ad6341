package controller

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

var _ = Describe("TalisProject API key Secret", func() {
	const wrongKey, rightKey = "tk-wrong-5f1c9e", "tk-right-8a7d2b"
	var (
		ns   string
		mgr  *runningManager
		logs *gbytes.Buffer
	)
	BeforeEach(func() {
		ns = newNamespace()
		emu.SetAPIKeys(rightKey)
		// Ten minutes: a project that recovers within the test did so because its Secret is watched.
		timing := testTiming()
		timing.ErrorRetry = 10 * time.Minute
		logs = gbytes.NewBuffer()
		mgr = startManager(managerOptions{timing: &timing, logs: logs})
	})
	AfterEach(func() {
		mgr.Stop()
		emu.SetAPIKeys()
		Expect(string(logs.Contents())).NotTo(ContainSubstring(wrongKey), "keys never appear in the manager's log")
		Expect(string(logs.Contents())).NotTo(ContainSubstring(rightKey), "keys never appear in the manager's log")
	})

	secretOf := func(key string, labelled bool) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis"}, StringData: map[string]string{"apiKey": key}}
		if labelled {
			s.Labels = map[string]string{infrav1.CredentialsLabel: "true"}
		}
		return s
	}
	projectUsing := func(secret string) *infrav1.TalisProject {
		p := newProject(ns, "p")
		p.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: secret, Key: "apiKey"}}
		return p
	}
	// eventuallyProjectStalled waits for the project's last attempt (Synced) to have failed for
	// reason, and for Stalled.
	eventuallyProjectStalled := func(p *infrav1.TalisProject, reason string) {
		EventuallyWithOffset(1, func(g Gomega) {
			got := &infrav1.TalisProject{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			synced := shared.FindCondition(got.Status.Conditions, infrav1.ConditionSynced)
			g.Expect(synced).NotTo(BeNil())
			g.Expect(synced.Reason).To(Equal(reason), synced.Message)
			stalled := shared.FindCondition(got.Status.Conditions, infrav1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	}
	// noKeyShown checks the project's status and both objects' events.
	noKeyShown := func(p *infrav1.TalisProject, set *infrav1.TalisInstanceSet) {
		got := &infrav1.TalisProject{}
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		for _, c := range got.Status.Conditions {
			Expect(c.Message).NotTo(Or(ContainSubstring(wrongKey), ContainSubstring(rightKey)))
		}
		for _, c := range getSet(set).Status.Conditions {
			Expect(c.Message).NotTo(Or(ContainSubstring(wrongKey), ContainSubstring(rightKey)))
		}
		events := joined(append(eventsFor(ns, p.Name), eventsFor(ns, set.Name)...))
		Expect(events).NotTo(Or(ContainSubstring(wrongKey), ContainSubstring(rightKey)))
	}

	It("uses a fixed key within seconds, long before --error-retry, and the project's sets follow", func() {
		secret, p, set := secretOf(wrongKey, true), projectUsing("talis"), newSet(ns, "web", "p", 1)
		create(secret, p, set)
		eventuallyProjectStalled(p, infrav1.ReasonInvalidCredentials)
		Eventually(func() string { return joined(eventsFor(ns, "p")) }, 10*time.Second, 100*time.Millisecond).
			Should(ContainSubstring(infrav1.ReasonInvalidCredentials))

		secret.StringData = map[string]string{"apiKey": rightKey}
		Expect(k8s.Update(suiteCtx, secret)).To(Succeed())
		Eventually(projectID(ns, "p"), 30*time.Second).ShouldNot(BeZero())
		eventuallyReady(set, 1)
		noKeyShown(p, set)
	})

	It("uses a Secret as soon as it is labelled for the operator", func() {
		secret, p, set := secretOf(rightKey, false), projectUsing("talis"), newSet(ns, "web", "p", 1)
		create(secret, p, set)
		eventuallyProjectStalled(p, infrav1.ReasonSecretNotLabeled)

		secret.Labels = map[string]string{infrav1.CredentialsLabel: "true"}
		Expect(k8s.Update(suiteCtx, secret)).To(Succeed())
		Eventually(projectID(ns, "p"), 30*time.Second).ShouldNot(BeZero())
		eventuallyReady(set, 1)
		noKeyShown(p, set)
	})

	It("uses a Secret created after its project", func() {
		p, set := projectUsing("talis"), newSet(ns, "web", "p", 1)
		create(p, set)
		eventuallyProjectStalled(p, infrav1.ReasonCredentialsUnavailable)

		create(secretOf(rightKey, true))
		Eventually(projectID(ns, "p"), 30*time.Second).ShouldNot(BeZero())
		eventuallyReady(set, 1)
		noKeyShown(p, set)
	})

	It("stops using a key whose Secret breaks, at once", func() {
		secret, p, set := secretOf(rightKey, true), projectUsing("talis"), newSet(ns, "web", "p", 1)
		create(secret, p, set)
		eventuallyReady(set, 1)

		secret.StringData = map[string]string{"apiKey": wrongKey}
		Expect(k8s.Update(suiteCtx, secret)).To(Succeed())
		eventuallyProjectStalled(p, infrav1.ReasonInvalidCredentials)
		noKeyShown(p, set)
	})
})

var _ = Describe("The manager's cache", func() {
	It("holds only the metadata of Secrets labelled for the operator", func() {
		ns := newNamespace()
		labelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "talis", Labels: map[string]string{infrav1.CredentialsLabel: "true"}},
			StringData: map[string]string{"apiKey": "tk-cached-never"}}
		other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, StringData: map[string]string{"password": "tk-app"}}
		create(labelled, other)

		opts := CacheOptions(nil)
		opts.Scheme = scheme
		c, err := cache.New(cfg, opts)
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(suiteCtx)
		defer cancel()
		go func() { _ = c.Start(ctx) }()

		// What WatchesMetadata(&corev1.Secret{}) reads from.
		var secrets metav1.PartialObjectMetadataList
		secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		Eventually(func(g Gomega) {
			g.Expect(c.List(suiteCtx, &secrets, client.InNamespace(ns))).To(Succeed())
			g.Expect(secrets.Items).To(HaveLen(1))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(secrets.Items[0].Name).To(Equal("talis"), "unlabelled Secrets are not cached")
		Expect(secrets.Items[0].ManagedFields).To(BeEmpty())
	})
})
