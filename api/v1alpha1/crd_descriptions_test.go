package v1alpha1

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// controller-gen keeps a Go comment's line breaks in the description, and kubectl explain
// prints them as they are: a comment must break lines only between sentences.
func TestCRDDescriptionsBreakOnlyBetweenSentences(t *testing.T) {
	for _, crd := range generatedCRDs(t) {
		for _, v := range crd.Spec.Versions {
			walkDescriptions(t, crd.Spec.Names.Kind, v.Schema.OpenAPIV3Schema)
		}
	}
}

// generatedCRDs reads the CRDs `make manifests` wrote.
func generatedCRDs(t *testing.T) []apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs found: %v", err)
	}
	crds := make([]apiextensionsv1.CustomResourceDefinition, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatal(err)
		}
		crds = append(crds, crd)
	}
	return crds
}

// upstream are fields whose descriptions come from Kubernetes's own types.
var upstream = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "conditions": true}

func walkDescriptions(t *testing.T, path string, s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	lines := strings.Split(s.Description, "\n")
	for i := 0; i < len(lines)-1; i++ {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.ContainsAny(l[len(l)-1:], ".:;!?") && strings.TrimSpace(lines[i+1]) != "" {
			t.Errorf("%s: description breaks a sentence after %q", path, l)
		}
	}
	for name, p := range s.Properties {
		if !upstream[name] {
			walkDescriptions(t, path+"."+name, &p)
		}
	}
	if s.Items != nil {
		walkDescriptions(t, path+"[]", s.Items.Schema)
	}
}

// crd-ref-docs formats numeric bounds as floats; hack/crd-ref-docs/validation.tpl prints them
// as the integers the markers say.
func TestAPIDocsPrintBoundsAsIntegers(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`[0-9](\.[0-9]+)?e[+-][0-9]+`).FindAllString(string(raw), -1); len(m) > 0 {
		t.Errorf("docs/api.md prints numbers in scientific notation: %v (run make api-docs)", m)
	}
	for _, want := range []string{"Maximum: 16777216", "Maximum: 4294967295"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("docs/api.md lacks %q", want)
		}
	}
}

// kubectl explain prints descriptions, not defaults: every defaulted spec field says its default.
func TestCRDDescriptionsStateDefaults(t *testing.T) {
	for _, crd := range generatedCRDs(t) {
		for _, v := range crd.Spec.Versions {
			spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
			walkDefaults(t, crd.Spec.Names.Kind+".spec", &spec)
		}
	}
}

func walkDefaults(t *testing.T, path string, s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	if s.Default != nil && !strings.Contains(s.Description, "Defaults to ") {
		t.Errorf("%s: has default %s but its description does not say \"Defaults to ...\"", path, s.Default.Raw)
	}
	for name, p := range s.Properties {
		walkDefaults(t, path+"."+name, &p)
	}
	if s.Items != nil {
		walkDefaults(t, path+"[]", s.Items.Schema)
	}
}
