package render

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// helmRender renders the chart with args, dry-runs it and runs every structural check.
func helmRender(t *testing.T, args ...string) objects {
	t.Helper()
	objs := helmTemplate(t, args...)
	dryRun(t, objs)
	checkAll(t, objs)
	return objs
}

func theDeployment(t *testing.T, objs objects) *appsv1.Deployment {
	t.Helper()
	deps := typed[appsv1.Deployment](t, objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(deps))
	}
	return deps[0]
}

// envOf returns the manager's variable name, and whether it is set.
func envOf(t *testing.T, objs objects, name string) (corev1.EnvVar, bool) {
	t.Helper()
	c := manager(t, theDeployment(t, objs))
	if c == nil {
		t.FailNow()
	}
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func TestHelmImageDigest(t *testing.T) {
	g := NewWithT(t)
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, args := range [][]string{
		{"--set", "image.digest=" + digest},
		{"--set", "image.digest=" + digest, "--set", "image.tag=v9.9.9"}, // the digest wins
	} {
		c := manager(t, theDeployment(t, helmRender(t, args...)))
		g.Expect(c.Image).To(Equal("ghcr.io/talis-operator/talis-operator@"+digest), "%v", args)
	}
	c := manager(t, theDeployment(t, helmRender(t, "--set", "image.tag=v9.9.9")))
	g.Expect(c.Image).To(Equal("ghcr.io/talis-operator/talis-operator:v9.9.9"))
}

// TestHelmGoMemLimit: GOMEMLIMIT is goMemLimitPercent (90 by default) of the memory limit, in
// bytes, whatever the limit's unit.
func TestHelmGoMemLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string // "" for unset
	}{
		{"default 256Mi", nil, "241591910"},
		{"Gi", []string{"--set", "resources.limits.memory=1Gi"}, "966367641"},
		{"fractional Gi", []string{"--set", "resources.limits.memory=1.5Gi"}, "1449551462"},
		{"Ki", []string{"--set", "resources.limits.memory=262144Ki"}, "241591910"},
		{"decimal M", []string{"--set", "resources.limits.memory=500M"}, "450000000"},
		{"plain bytes as a number", []string{"--set", "resources.limits.memory=1000000000"}, "900000000"},
		{"plain bytes as a string", []string{"--set-string", "resources.limits.memory=1000000000"}, "900000000"},
		{"other percentage", []string{"--set", "goMemLimitPercent=75"}, "201326592"},
		{"percentage 0", []string{"--set", "goMemLimitPercent=0"}, ""},
		{"no memory limit", []string{"--set", "resources.limits.memory=null"}, ""},
		{"no limits", []string{"--set", "resources.limits=null"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := helmTemplate(t, c.args...)
			dryRun(t, objs)
			e, ok := envOf(t, objs, "GOMEMLIMIT")
			switch {
			case c.want == "" && ok:
				t.Errorf("GOMEMLIMIT=%q, want it unset", e.Value)
			case c.want != "" && (!ok || e.Value != c.want || e.ValueFrom != nil):
				t.Errorf("GOMEMLIMIT %+v, want the value %s", e, c.want)
			}
		})
	}
}

// TestHelmDisruptionBudget: a budget only with more than one replica unless enabled says
// otherwise, always selecting the manager's pods.
func TestHelmDisruptionBudget(t *testing.T) {
	one, half := intstr.FromInt32(1), intstr.FromString("50%")
	for _, c := range []struct {
		name string
		args []string
		// nil: no budget.
		minAvailable, maxUnavailable *intstr.IntOrString
	}{
		{"one replica", nil, nil, nil},
		{"two replicas", []string{"--set", "replicaCount=2"}, &one, nil},
		{"two replicas, budget off", []string{"--set", "replicaCount=2", "--set", "podDisruptionBudget.enabled=false"}, nil, nil},
		{"one replica, budget on", []string{"--set", "podDisruptionBudget.enabled=true", "--set", "podDisruptionBudget.maxUnavailable=1"}, nil, &one},
		{"percentage", []string{"--set", "replicaCount=4", "--set", "podDisruptionBudget.minAvailable=50%"}, &half, nil},
		{"maxUnavailable", []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.maxUnavailable=1"}, nil, &one},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			objs := helmRender(t, c.args...)
			pdbs := typed[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget")
			if c.minAvailable == nil && c.maxUnavailable == nil {
				g.Expect(pdbs).To(BeEmpty())
				return
			}
			g.Expect(pdbs).To(HaveLen(1))
			pdb := pdbs[0]
			g.Expect(pdb.Spec.MinAvailable).To(Equal(c.minAvailable))
			g.Expect(pdb.Spec.MaxUnavailable).To(Equal(c.maxUnavailable))
			g.Expect(pdb.Spec.UnhealthyPodEvictionPolicy).To(HaveValue(Equal(policyv1.AlwaysAllow)))
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(podsSelectedBy(t, objs, pdb.Namespace, sel)).To(HaveLen(1), "the budget selects the manager's pods")
		})
	}
}

// TestHelmSchedulingAndExtras renders values-features.yaml: spread constraints (one defaulted to
// the manager's pods), extra env, volumes and mounts where the pod has them.
func TestHelmSchedulingAndExtras(t *testing.T) {
	g := NewWithT(t)
	objs := helmRender(t, "-f", "test/render/testdata/values-features.yaml")
	d := theDeployment(t, objs)
	pod := d.Spec.Template.Spec

	g.Expect(pod.TopologySpreadConstraints).To(HaveLen(2))
	for _, tsc := range pod.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(sel.Matches(labels.Set(d.Spec.Template.Labels))).To(BeTrue(), "constraint on %s selects the manager's pods", tsc.TopologyKey)
	}
	g.Expect(pod.TopologySpreadConstraints[0].LabelSelector.MatchLabels).To(Equal(d.Spec.Selector.MatchLabels), "defaulted to the Deployment's selector")
	g.Expect(pod.TopologySpreadConstraints[1].LabelSelector.MatchLabels).To(Equal(map[string]string{"app.kubernetes.io/name": "talis-operator"}), "kept as given")

	c := manager(t, d)
	g.Expect(c.Env).To(ContainElements(
		corev1.EnvVar{Name: "GODEBUG", Value: "http2client=0"},
		corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	))
	gomemlimit, _ := envOf(t, objs, "GOMEMLIMIT")
	g.Expect(gomemlimit.Value).To(Equal("966367641"), "90% of the 1Gi limit of the values file")
	var volumes []string
	for _, v := range pod.Volumes {
		volumes = append(volumes, v.Name)
	}
	g.Expect(volumes).To(ConsistOf("tmp", "notes"))
	g.Expect(c.VolumeMounts).To(ConsistOf(
		corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"},
		corev1.VolumeMount{Name: "notes", MountPath: "/etc/talis-operator/notes", ReadOnly: true},
	))
	g.Expect(objs.ofKind("PodDisruptionBudget")).To(HaveLen(1))

	// With the CA bundle, its volume comes first and the extras follow.
	objs = helmRender(t, "-f", "test/render/testdata/values-features.yaml", "--set", "talis.caBundle.secret=talis-ca")
	pod = theDeployment(t, objs).Spec.Template.Spec
	volumes = volumes[:0]
	for _, v := range pod.Volumes {
		volumes = append(volumes, v.Name)
	}
	g.Expect(volumes).To(Equal([]string{"talis-ca", "tmp", "notes"}))
	g.Expect(manager(t, theDeployment(t, objs)).VolumeMounts).To(HaveLen(3))
}
