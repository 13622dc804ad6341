package shared

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// fluxCEL evaluates the shipped healthCheckExprs (docs/health/flux-healthcheckexprs.yaml) the way
// kustomize-controller's status evaluator does (fluxcd/pkg/runtime/cel): InProgress while
// status.observedGeneration differs from metadata.generation, then inProgress, failed and current
// in that order, InProgress when none holds; expressions parsed, not type-checked, in an
// environment with optional types and the strings, sets and encoders extensions.
// test/gitops runs them in the real controller; this runs them over every state of the model.
func fluxCEL(g Gomega, kind string) func(*infrav1.TalisInstanceSet) status.Status {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "health", "flux-healthcheckexprs.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var checks []map[string]string
	g.Expect(yaml.UnmarshalStrict(raw, &checks)).To(Succeed())
	var exprs map[string]string
	for _, c := range checks {
		if c["kind"] == kind {
			exprs = c
		}
	}
	g.Expect(exprs).NotTo(BeNil(), "no expressions for "+kind)
	env, err := cel.NewEnv(cel.OptionalTypes(), ext.Strings(), ext.Sets(), ext.Encoders())
	g.Expect(err).NotTo(HaveOccurred())
	programs := map[string]cel.Program{}
	for _, f := range []string{"inProgress", "failed", "current"} {
		parsed, iss := env.Parse(exprs[f])
		g.Expect(iss.Err()).NotTo(HaveOccurred(), f)
		programs[f], err = env.Program(parsed)
		g.Expect(err).NotTo(HaveOccurred(), f)
	}
	return func(s *infrav1.TalisInstanceSet) status.Status {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
		g.Expect(err).NotTo(HaveOccurred())
		gen, _, _ := unstructured.NestedInt64(m, "metadata", "generation")
		if observed, found, _ := unstructured.NestedInt64(m, "status", "observedGeneration"); found && observed != gen {
			return status.InProgressStatus
		}
		for _, f := range []struct {
			name string
			is   status.Status
		}{{"inProgress", status.InProgressStatus}, {"failed", status.FailedStatus}, {"current", status.CurrentStatus}} {
			out, _, err := programs[f.name].Eval(m)
			g.Expect(err).NotTo(HaveOccurred(), f.name)
			if out.Value() == true {
				return f.is
			}
		}
		return status.InProgressStatus
	}
}

// The shipped CEL checks read every state of the model as kstatus does, fresh and after Ready;
// they differ only where kstatus guesses: no Ready condition, or a Ready about an older generation.
func TestFluxCELMatchesKstatus(t *testing.T) {
	g := NewWithT(t)
	celOf := fluxCEL(g, "TalisInstanceSet")
	project := fluxCEL(g, "TalisProject")
	for reason, kind := range reasonKinds {
		if kind == kindQuiet {
			continue
		}
		for _, wasReady := range []bool{false, true} {
			const gen = 3
			obj := setObject(gen)
			if wasReady {
				FleetReady("ready").Apply(&obj.Status.Conditions, gen)
			}
			build(kind, reason).Apply(&obj.Status.Conditions, gen)
			want := read(g, obj).kstatus
			g.Expect(celOf(obj)).To(Equal(want), "%s (was ready: %v)", reason, wasReady)
			g.Expect(project(obj)).To(Equal(want), "TalisProject's expressions, %s (was ready: %v)", reason, wasReady)
		}
	}

	fresh := setObject(1)
	fresh.Status.ObservedGeneration = 0 // the API server's default on a new object
	g.Expect(celOf(fresh)).To(Equal(status.InProgressStatus))

	bare := setObject(2) // observed, but no conditions: kstatus guesses Current
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(bare)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Status).To(Equal(status.CurrentStatus))
	g.Expect(celOf(bare)).To(Equal(status.InProgressStatus))

	stale := setObject(4) // Ready=True about generation 3
	stale.Status.Conditions = []metav1.Condition{{Type: infrav1.ConditionReady, Status: metav1.ConditionTrue, Reason: infrav1.ReasonReady, ObservedGeneration: 3}}
	g.Expect(celOf(stale)).To(Equal(status.InProgressStatus))
}
