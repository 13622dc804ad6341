package reliability

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/talis-operator/talis-operator/test/harness"
)

// README's "What you write" example, applied as printed to a cluster like the demo's (a manager
// whose --talis-url is the emulator, other objects beside it), must work: before, it reconfigured
// the sample set and its project was refused for naming another URL.
func TestReadmeExampleAppliesAsPrinted(t *testing.T) {
	_, url := fastTalis(t)
	docs := readmeExample(t)
	var ns string
	for _, d := range docs {
		if d.GetKind() == "Namespace" {
			ns = d.GetName()
		}
	}
	if ns == "" || ns == "default" {
		t.Fatalf("the example does not bring a namespace of its own (got %q)", ns)
	}
	startManager(t, managerArgs(url, "--watch-namespaces", ns))
	var created []*unstructured.Unstructured
	for _, d := range docs {
		if err := cp.Client.Create(ctx, d); err != nil {
			t.Fatalf("kubectl apply of the README example: %s %s: %v", d.GetKind(), d.GetName(), err)
		}
		created = append(created, d)
	}
	var setName string
	for _, d := range docs {
		if d.GetKind() == "TalisInstanceSet" {
			setName = d.GetName()
		}
	}
	key := harness.SetKey{Namespace: ns, Name: setName}
	harness.Eventually(t, 90*time.Second, "the README's set ready", func() error { return harness.SetReady(ctx, cp.Client, key, 3) })

	for i := len(created) - 1; i >= 0; i-- { // set, project, then the rest
		if k := created[i].GetKind(); k == "TalisInstanceSet" || k == "TalisProject" {
			if err := cp.Client.Delete(ctx, created[i]); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, 60*time.Second, k+" deleted", func() error { return harness.Gone(ctx, cp.Client, created[i]) })
		}
	}
}

// readmeExample is the first yaml block after README's "## What you write", one object per document.
func readmeExample(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cp.RepoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "## What you write")
	if !ok {
		t.Fatal(`README.md has no "## What you write" section`)
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("no yaml block under What you write")
	}
	block, _, _ = strings.Cut(block, "```")
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(block)), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if obj != nil {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out
}
