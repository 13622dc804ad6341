package reliability

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStep is one JSON patch, sent as a request of its own, and the message its refusal must carry.
type patchStep struct {
	ops  []obj
	want string
}

func op(kind, path string, value ...any) obj {
	o := obj{"op": kind, "path": path}
	if len(value) > 0 {
		o["value"] = value[0]
	}
	return o
}

func step(want string, ops ...obj) patchStep { return patchStep{ops: ops, want: want} }

// TestAdmissionKeepsImmutableFieldsThroughAnyEdit tries, for every field Talis cannot change after
// creation, the sequences of JSON patches that get around a transition rule: removing the field
// or its parent, removing and re-adding in separate requests, and setting a field that was unset.
// CEL transition rules run only when the old and the new value both exist, so each step must be
// refused on its own, and the spec must be unchanged at the end.
func TestAdmissionKeepsImmutableFieldsThroughAnyEdit(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "immutable-seq")
	if err != nil {
		t.Fatal(err)
	}
	named := validProject()
	set("metadata.name", "named")(named)
	set("spec.projectName", "seq-named-"+ns)(named)
	set("spec.ownerID", int64(4294967295))(named)
	bare := validProject()
	set("metadata.name", "bare")(bare)
	del("spec.description")(bare)
	bases := map[string]obj{"set": validSet(), "project": validProject(), "named": named, "bare": bare}

	// specOf is the created object's spec with mutate applied, as a patch value.
	specOf := func(target string, mutate func(obj)) obj {
		o := obj{"spec": runtime.DeepCopyJSONValue(bases[target]["spec"])}
		mutate(o)
		return o["spec"].(obj)
	}
	const (
		specRequired   = "spec: Required value"
		refImmutable   = "projectRef is immutable: instances cannot move between projects"
		ownerImmutable = "ownerID is immutable"
		ownerAddRemove = "ownerID cannot be added or removed after creation"
		descImmutable  = "description is immutable: Talis cannot update a project"
	)
	otherRef := specOf("set", set("spec.projectRef.name", "other"))
	cases := []struct {
		name, target string
		steps        []patchStep
	}{
		// Sets: projectRef.
		{"set: remove spec", "set", []patchStep{step(specRequired, op("remove", "/spec"))}},
		{"set: remove spec, then add it with another project", "set", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(refImmutable, op("add", "/spec", otherRef))}},
		{"set: replace spec with another project", "set", []patchStep{step(refImmutable, op("replace", "/spec", otherRef))}},
		{"set: remove and add spec in one request", "set", []patchStep{step(refImmutable, op("remove", "/spec"), op("add", "/spec", otherRef))}},
		{"set: remove projectRef, then add another", "set", []patchStep{
			step("spec.projectRef: Required value", op("remove", "/spec/projectRef")),
			step(refImmutable, op("add", "/spec/projectRef", obj{"name": "other"}))}},
		{"set: remove projectRef.name, then add another", "set", []patchStep{
			step("spec.projectRef.name: Required value", op("remove", "/spec/projectRef/name")),
			step(refImmutable, op("add", "/spec/projectRef/name", "other"))}},
		{"set: spec null", "set", []patchStep{step(specRequired, op("replace", "/spec", nil))}},

		// Projects: projectName.
		{"project: remove spec, then add it with another name", "named", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(nameFixed, op("add", "/spec", specOf("named", set("spec.projectName", "moved-"+ns))))}},
		{"project: remove spec, then add it without the name", "named", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(nameFixed, op("add", "/spec", specOf("named", del("spec.projectName"))))}},
		{"project: remove projectName, then add another", "named", []patchStep{
			step(nameFixed, op("remove", "/spec/projectName")),
			step(nameFixed, op("add", "/spec/projectName", "moved-"+ns))}},
		{"project: remove spec, then add it with a name where it had none", "project", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(nameFixed, op("add", "/spec", specOf("project", set("spec.projectName", "late-"+ns))))}},
		{"project: add a name where it had none", "project", []patchStep{step(nameFixed, op("add", "/spec/projectName", "late-"+ns))}},

		// Projects: ownerID.
		{"project: remove spec, then add it with another owner", "named", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(ownerImmutable, op("add", "/spec", specOf("named", set("spec.ownerID", int64(7)))))}},
		{"project: remove ownerID, then add another", "named", []patchStep{
			step(ownerAddRemove, op("remove", "/spec/ownerID")),
			step(ownerImmutable, op("add", "/spec/ownerID", int64(7)))}},
		{"project: remove spec, then add it with an owner where it had none", "project", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(ownerAddRemove, op("add", "/spec", specOf("project", set("spec.ownerID", int64(7)))))}},
		{"project: add an owner where it had none", "project", []patchStep{step(ownerAddRemove, op("add", "/spec/ownerID", int64(7)))}},

		// Projects: description.
		{"project: remove spec, then add it with another description", "project", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(descImmutable, op("add", "/spec", specOf("project", set("spec.description", "edited"))))}},
		{"project: remove description, then add another", "project", []patchStep{
			step(descImmutable, op("remove", "/spec/description")),
			step(descImmutable, op("add", "/spec/description", "edited"))}},
		{"project: remove spec, then add it with a description where it had none", "bare", []patchStep{
			step(specRequired, op("remove", "/spec")),
			step(descImmutable, op("add", "/spec", specOf("bare", set("spec.description", "late"))))}},
		{"project: add a description where it had none", "bare", []patchStep{step(descImmutable, op("add", "/spec/description", "late"))}},
		{"project: spec null", "named", []patchStep{step(specRequired, op("replace", "/spec", nil))}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A fresh object per case: a step wrongly accepted must not spoil the next case.
			u := &unstructured.Unstructured{Object: runtime.DeepCopyJSONValue(bases[c.target]).(obj)}
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("%s-%d", u.GetName(), i))
			if err := cp.Client.Create(ctx, u); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cp.Client.Delete(ctx, u) })
			createdInTalis(t, u)
			orig := runtime.DeepCopyJSONValue(u.Object["spec"])
			for n, s := range c.steps {
				raw, err := json.Marshal(s.ops)
				if err != nil {
					t.Fatal(err)
				}
				err = cp.Client.Patch(ctx, u.DeepCopy(), client.RawPatch(types.JSONPatchType, raw))
				switch {
				case err == nil:
					t.Errorf("step %d %s: accepted; want a refusal with %q", n+1, raw, s.want)
				case !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), s.want):
					t.Errorf("step %d %s: want an Invalid error with %q, got %v", n+1, raw, s.want, err)
				}
			}
			got := u.DeepCopy()
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Object["spec"], orig) {
				a, _ := json.Marshal(orig)
				b, _ := json.Marshal(got.Object["spec"])
				t.Errorf("spec changed:\n was %s\n now %s", a, b)
			}
		})
	}
}
