package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// unbounded returns this version's CRDs without what it added: spec optional, maxSurge up to
// 10000 and no sum rule, status without maxItems, maxLength or size rules.
func unbounded(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range []string{"infra.talis.io_talisinstancesets.yaml", "infra.talis.io_talisprojects.yaml"} {
		raw, err := os.ReadFile(filepath.Join(cp.CRDDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(raw, crd); err != nil {
			t.Fatal(err)
		}
		root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		root.Required = nil
		var loosen func(s *apiextensionsv1.JSONSchemaProps)
		loosen = func(s *apiextensionsv1.JSONSchemaProps) {
			s.MaxItems, s.MaxLength = nil, nil
			var keep apiextensionsv1.ValidationRules
			for _, v := range s.XValidations {
				if !strings.Contains(v.Rule, "1500") && !strings.Contains(v.Rule, "size(") {
					keep = append(keep, v)
				}
			}
			s.XValidations = keep
			if s.Maximum != nil && *s.Maximum == 1000 {
				m := 10000.0
				s.Maximum = &m
			}
			for k, p := range s.Properties {
				loosen(&p)
				s.Properties[k] = p
			}
			if s.Items != nil && s.Items.Schema != nil {
				loosen(s.Items.Schema)
			}
		}
		st := root.Properties["status"]
		loosen(&st)
		root.Properties["status"] = st
		spec := root.Properties["spec"]
		spec.XValidations = nil
		if strings.Contains(f, "instancesets") {
			strat := spec.Properties["strategy"]
			ru := strat.Properties["rollingUpdate"]
			ms := ru.Properties["maxSurge"]
			m := 10000.0
			ms.Maximum = &m
			ru.Properties["maxSurge"] = ms
			strat.Properties["rollingUpdate"] = ru
			spec.Properties["strategy"] = strat
		} else {
			spec.XValidations = crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].XValidations
		}
		root.Properties["spec"] = spec
		crd.ResourceVersion = ""
		out = append(out, crd)
	}
	return out
}

func installCRDs(t *testing.T, crds []*apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	for _, c := range crds {
		cur := &apiextensionsv1.CustomResourceDefinition{}
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: c.Name}, cur); err != nil {
			t.Fatal(err)
		}
		c = c.DeepCopy()
		c.ResourceVersion = cur.ResourceVersion
		if err := cp.Client.Update(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := envtest.WaitForCRDs(cp.Config, crds, envtest.CRDInstallOptions{PollInterval: 100 * time.Millisecond, MaxTime: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

// TestObjectsFromBeforeTheBoundsAfterTheUpgrade makes objects the unbounded CRDs allowed (no spec,
// replicas + maxSurge above 1500, more status entries than 1600), installs the CRDs of this
// version, and checks what each can still do: the operator's status writes go on, and every edit
// either works or is refused with a message that says what to change.
func TestObjectsFromBeforeTheBoundsAfterTheUpgrade(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "upgrade")
	if err != nil {
		t.Fatal(err)
	}
	// A spec-less project is accepted only once the apiserver serves the CRDs just installed.
	probe := 0
	serving := func(unboundedCRDs bool) {
		t.Helper()
		harness.Eventually(t, 30*time.Second, fmt.Sprintf("the apiserver serves the %s CRDs", map[bool]string{true: "unbounded", false: "current"}[unboundedCRDs]), func() error {
			probe++
			u := &unstructured.Unstructured{Object: obj{"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisProject",
				"metadata": obj{"name": fmt.Sprintf("probe-%d", probe), "namespace": ns}}}
			err := cp.Client.Create(ctx, u)
			if err == nil {
				_ = cp.Client.Delete(ctx, u)
			}
			if (err == nil) != unboundedCRDs {
				return fmt.Errorf("spec-less create: %v", err)
			}
			return nil
		})
	}
	installCRDs(t, unbounded(t))
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := cp.InstallCRDs(); err != nil {
				t.Fatal(err)
			}
			serving(false)
		}
	}
	t.Cleanup(restore)
	serving(true)

	mk := func(o obj) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: o}
		u.SetNamespace(ns)
		u.SetFinalizers([]string{infrav1.Finalizer})
		if err := cp.Client.Create(ctx, u); err != nil {
			t.Fatalf("%s: %v", u.GetName(), err)
		}
		return u
	}
	bareSet := mk(obj{"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisInstanceSet", "metadata": obj{"name": "bare"}})
	bareProjects := []*unstructured.Unstructured{
		mk(obj{"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisProject", "metadata": obj{"name": "bare"}}),
		mk(obj{"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisProject", "metadata": obj{"name": "bare-2"}}),
	}
	wide := validSet()
	set("metadata.name", "wide")(wide)
	set("spec.replicas", int64(1000))(wide)
	set("spec.strategy", obj{"type": "RollingUpdate", "rollingUpdate": obj{"maxSurge": int64(10000)}})(wide)
	wideSet := mk(wide)
	long := validSet()
	set("metadata.name", "long")(long)
	longSet := mk(long)
	now := time.Now().UTC().Format(time.RFC3339)
	entries := func(n int, name string) []any {
		return repeat(n, func(i int) any {
			return obj{"id": int64(i + 1), "name": name, "state": "ready", "templateHash": "abcdef0123", "createdAt": now}
		})
	}
	statusPatch := func(u *unstructured.Unstructured, status obj) error {
		raw := fmt.Sprintf(`{"status":%s}`, mustJSON(status))
		return cp.Client.Status().Patch(ctx, u.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(raw)))
	}
	patch := func(u *unstructured.Unstructured, p string) error {
		return cp.Client.Patch(ctx, u.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(p)))
	}
	for _, u := range []*unstructured.Unstructured{wideSet, longSet} {
		if err := statusPatch(u, obj{"instances": entries(1700, strings.Repeat("n", 100))}); err != nil {
			t.Fatal(err)
		}
	}
	restore()

	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: refused: %v", what, firstLine(err))
		}
	}
	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want a refusal with %q, got %v", what, want, firstLine(err))
		}
	}
	// Without spec: status writes go on; any other edit must add a spec first, so a deletion waits
	// until someone does (for a project, spec {} is enough).
	for _, u := range append([]*unstructured.Unstructured{bareSet}, bareProjects...) {
		k := u.GetKind() + " without spec"
		ok(k+": status write", statusPatch(u, obj{"observedGeneration": int64(1)}))
		refused(k+": finalizer removal", patch(u, `{"metadata":{"finalizers":null}}`), "spec: Required value")
	}
	p := bareProjects[0]
	refused("TalisProject without spec: a spec with a name", patch(p, `{"spec":{"projectName":"late"}}`),
		"this project was created without spec: one added now cannot set projectName, ownerID or description")
	refused("TalisProject without spec: a spec with an owner", patch(p, `{"spec":{"ownerID":7}}`), "cannot set projectName, ownerID or description")
	refused("TalisProject without spec: a spec with a description", patch(p, `{"spec":{"description":"late"}}`), "cannot set projectName, ownerID or description")
	ok("TalisProject without spec: spec {}", patch(p, `{"spec":{}}`))
	ok("TalisProject given spec {}: finalizer removal", patch(p, `{"metadata":{"finalizers":null}}`))
	ok("TalisProject without spec: spec {} and finalizer removal at once", patch(bareProjects[1], `{"spec":{},"metadata":{"finalizers":null}}`))

	// replicas + maxSurge above 1500: edits that leave spec alone work; spec edits must lower it.
	ok("wide set: label", patch(wideSet, `{"metadata":{"labels":{"x":"y"}}}`))
	refused("wide set: scale", patch(wideSet, `{"spec":{"replicas":999}}`), "replicas + strategy.rollingUpdate.maxSurge must be at most 1500")
	ok("wide set: maxSurge lowered", patch(wideSet, `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":500}}}}`))

	// 1700 entries: a status write that keeps them passes (ratcheting); one that changes them must
	// bring them to 1600 or fewer, which the operator does only as Talis reports instances gone.
	ok("1700 entries: status write that keeps them", statusPatch(longSet, obj{"observedGeneration": int64(2)}))
	refused("1700 entries: status write that changes them", statusPatch(longSet, obj{"instances": entries(1700, "short")}), "must have at most 1600 items")
	ok("1700 entries: status write down to 1600", statusPatch(longSet, obj{"instances": entries(1600, "short")}))
	for _, u := range []*unstructured.Unstructured{wideSet, longSet} {
		ok(u.GetName()+": finalizer removal", patch(u, `{"metadata":{"finalizers":null}}`))
	}
	// Left for the namespace's deletion: add the spec the set needs, so the finalizer can go.
	spec := validSet()["spec"]
	ok("TalisInstanceSet without spec: a spec and finalizer removal", patch(bareSet,
		fmt.Sprintf(`{"spec":%s,"metadata":{"finalizers":null}}`, mustJSON(spec))))
}

func mustJSON(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(raw)
}
