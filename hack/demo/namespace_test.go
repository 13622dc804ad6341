package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// The walk-through deletes its project, and Talis keeps a deleted project's name reserved forever;
// the kept demo then prints `kubectl apply -k config/samples/`, which must make a project whose name
// was never used: the samples must land in another namespace than the walk-through's.
func TestWalkthroughNamespaceIsNotTheSamples(t *testing.T) {
	for _, f := range []string{"infra_v1alpha1_talisproject.yaml", "infra_v1alpha1_talisinstanceset.yaml"} {
		raw, err := os.ReadFile("../../config/samples/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Metadata struct{ Namespace string } `json:"metadata"`
		}
		if err := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&obj); err != nil {
			t.Fatal(err)
		}
		ns := obj.Metadata.Namespace
		if ns == "" {
			ns = "default" // kubectl's namespace without a context namespace, as the demo's kubeconfig has
		}
		if ns == demoNamespace {
			t.Errorf("%s lands in %q, the namespace the walk-through deletes its project in", f, ns)
		}
	}
}

func TestTryTextNamesTheKubeconfigAndEmulator(t *testing.T) {
	var b bytes.Buffer
	if err := printTry(&b, tryValues{Kubeconfig: "/k", TalisURL: "http://t"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"export KUBECONFIG=/k\n", "kubectl apply -k config/samples/", "curl http://t/emulator/ledger\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("try text lacks %q:\n%s", want, b.String())
		}
	}
}
