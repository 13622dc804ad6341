package render

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestCRDUpgradeAsREADMESays does to CRDs an older chart installed what README's upgrade step
// does with kubectl (`kubectl apply --server-side --force-conflicts -f charts/talis-operator/crds/`):
// Helm wrote them with plain writes, so a server-side apply conflicts with Helm's fields unless it
// forces, and with force the CRDs become the chart's.
func TestCRDUpgradeAsREADMESays(t *testing.T) {
	g := NewWithT(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(readme)).To(ContainSubstring("kubectl apply --server-side --force-conflicts -f charts/talis-operator/crds/\n"))
	want := readObjects(t, filepath.Join(chart, "crds", "infra.talis.io_talisprojects.yaml"))[0]
	description := func(o *unstructured.Unstructured) string {
		versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
		g.Expect(versions).NotTo(BeEmpty())
		d, _, _ := unstructured.NestedString(versions[0].(map[string]any), "schema", "openAPIV3Schema", "description")
		return d
	}
	wanted := description(want)
	g.Expect(wanted).NotTo(BeEmpty())

	// An older release's CRD, written as Helm writes it.
	older := &unstructured.Unstructured{}
	older.SetGroupVersionKind(want.GroupVersionKind())
	g.Expect(k8s.Get(t.Context(), client.ObjectKey{Name: want.GetName()}, older)).To(Succeed())
	versions, _, _ := unstructured.NestedSlice(older.Object, "spec", "versions")
	g.Expect(unstructured.SetNestedField(versions[0].(map[string]any), "an older description", "schema", "openAPIV3Schema", "description")).To(Succeed())
	g.Expect(unstructured.SetNestedSlice(older.Object, versions, "spec", "versions")).To(Succeed())
	g.Expect(k8s.Update(t.Context(), older, client.FieldOwner("helm"))).To(Succeed())

	apply := func(opts ...client.ApplyOption) error {
		return k8s.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(want.DeepCopy()), append(opts, client.FieldOwner("kubectl"))...)
	}
	err = apply()
	g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "server-side apply without --force-conflicts: %v", err)
	g.Expect(apply(client.ForceOwnership)).To(Succeed())

	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(want.GroupVersionKind())
	g.Expect(k8s.Get(t.Context(), client.ObjectKey{Name: want.GetName()}, got)).To(Succeed())
	g.Expect(description(got)).To(Equal(wanted), "the CRD is the chart's after the upgrade step")
}
