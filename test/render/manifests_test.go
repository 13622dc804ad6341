package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// objects is one rendering: every object of a kustomize build or helm template.
type objects []*unstructured.Unstructured

// unservedGroups are API groups whose CRDs the test apiserver does not have; their objects are
// checked by parsing them (see checkServiceMonitors) instead of by dry-run.
var unservedGroups = map[string]bool{"monitoring.coreos.com": true}

// run executes a tool from the repository root and returns its standard output.
func run(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = repoRoot
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

func kustomizeBuild(t *testing.T, dir string) objects {
	t.Helper()
	return mustParse(t, "kustomize build "+dir, run(t, os.Environ(), kustomize, "build", dir))
}

// helmTemplate renders the chart as release "talis-operator" in namespace talis-system, CRDs
// included; args add values (-f, --set).
func helmTemplate(t *testing.T, args ...string) objects {
	t.Helper()
	full := append([]string{"template", "talis-operator", "charts/talis-operator",
		"--namespace", "talis-system", "--include-crds"}, args...)
	return mustParse(t, "helm "+strings.Join(full, " "), run(t, helmEnv, helm, full...))
}

func mustParse(t *testing.T, what string, data []byte) objects {
	t.Helper()
	objs, err := parseObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s rendered no objects", what)
	}
	return objs
}

// parseObjects splits a multi-document YAML stream into objects; duplicate keys are errors.
func parseObjects(data []byte) (objects, error) {
	var out objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(out)+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue // only comments
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", len(out)+1, err, doc)
		}
		out = append(out, u)
	}
}

func readObjects(t *testing.T, path string) objects {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, path, data)
}

// ofKind returns the objects of one kind, any group.
func (objs objects) ofKind(kind string) objects {
	var out objects
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func name(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
}

// typed converts objects of one kind into their Go type.
func typed[T any](t *testing.T, objs objects, kind string) []*T {
	t.Helper()
	var out []*T
	for _, o := range objs.ofKind(kind) {
		v := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, v, true); err != nil {
			t.Fatalf("%s: %v", name(o), err)
		}
		out = append(out, v)
	}
	return out
}

// dryRun sends every object to the apiserver with server-side apply and dry-run, so that schema,
// CEL and admission errors fail the test. Namespaces are created for real first.
func dryRun(t *testing.T, objs objects) {
	t.Helper()
	for _, o := range objs.ofKind("Namespace") {
		ensureNamespace(t, o.GetName())
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if unservedGroups[gvk.Group] {
			continue
		}
		namespaced, err := k8s.IsObjectNamespaced(o)
		if err != nil {
			t.Errorf("%s: %s is not served by the apiserver: %v", name(o), gvk, err)
			continue
		}
		switch {
		case namespaced && o.GetNamespace() == "":
			t.Errorf("%s: namespaced object without metadata.namespace", name(o))
			continue
		case !namespaced && o.GetNamespace() != "":
			t.Errorf("%s: cluster-scoped object with metadata.namespace", name(o))
			continue
		case namespaced:
			ensureNamespace(t, o.GetNamespace())
		}
		err = k8s.Apply(t.Context(), client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.DryRunAll, client.ForceOwnership, client.FieldOwner("test-render"))
		if err != nil {
			t.Errorf("%s: server-side dry-run: %v", name(o), err)
		}
	}
}
