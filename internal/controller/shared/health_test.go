package shared

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// stateKind is one constructor of the condition model; every reason belongs to exactly one.
type stateKind string

const (
	kindReady      stateKind = "ready"
	kindConverging stateKind = "converging"
	kindRepairing  stateKind = "repairing"
	kindWarned     stateKind = "ready, warned"
	kindRetrying   stateKind = "retrying"
	kindWaiting    stateKind = "waiting"
	kindStalled    stateKind = "stalled"
	kindPaused     stateKind = "paused"
	kindQuiet      stateKind = "quiet" // the reason of a condition that reports nothing wrong
)

// reasonKinds is the model's table: docs/conditions.md must say the same, and every Reason
// constant of the API must be in it.
var reasonKinds = map[string]stateKind{
	infrav1.ReasonReady:                   kindReady,
	infrav1.ReasonCreating:                kindConverging,
	infrav1.ReasonProvisioning:            kindConverging,
	infrav1.ReasonRollingOut:              kindConverging,
	infrav1.ReasonTerminating:             kindConverging,
	infrav1.ReasonCreateOutcomeUnknown:    kindConverging,
	infrav1.ReasonDeleting:                kindConverging,
	infrav1.ReasonWaitingForInstanceSets:  kindConverging,
	infrav1.ReasonProvisioningTimeout:     kindRepairing,
	infrav1.ReasonInstanceTerminated:      kindRepairing,
	infrav1.ReasonInstanceFailed:          kindRepairing,
	infrav1.ReasonEndpointChanged:         kindWarned,
	infrav1.ReasonOwnerChanged:            kindWarned,
	infrav1.ReasonStrayInstances:          kindWarned,
	infrav1.ReasonTalisUnavailable:        kindRetrying,
	infrav1.ReasonWaitingForProject:       kindWaiting,
	infrav1.ReasonProjectNotReady:         kindWaiting,
	infrav1.ReasonProjectNotFound:         kindStalled,
	infrav1.ReasonProjectHasLiveInstances: kindStalled,
	infrav1.ReasonInvalidCredentials:      kindStalled,
	infrav1.ReasonCredentialsUnavailable:  kindStalled,
	infrav1.ReasonSecretNotLabeled:        kindStalled,
	infrav1.ReasonSecretRequired:          kindStalled,
	infrav1.ReasonEndpointNotAllowed:      kindStalled,
	infrav1.ReasonTalisRejected:           kindStalled,
	infrav1.ReasonNameReserved:            kindStalled,
	infrav1.ReasonNotOwned:                kindStalled,
	infrav1.ReasonProjectInUse:            kindStalled,
	infrav1.ReasonNameForbidden:           kindStalled,
	infrav1.ReasonIdentityNotDerived:      kindStalled,
	infrav1.ReasonProvisioningFailing:     kindStalled,
	infrav1.ReasonOutputsNotOwned:         kindStalled,
	infrav1.ReasonOutputsNotWritten:       kindRetrying,
	infrav1.ReasonPaused:                  kindPaused,
	infrav1.ReasonAsExpected:              kindQuiet,
	infrav1.ReasonReconcileSuccess:        kindQuiet,
}

func build(kind stateKind, reason string) Health {
	const msg = "a message"
	switch kind {
	case kindReady:
		return FleetReady(msg)
	case kindConverging:
		return Converging(reason, msg)
	case kindRepairing:
		return Repairing(reason, msg)
	case kindWarned:
		return ReadyButWarned(reason, msg)
	case kindRetrying:
		return Retrying(reason, msg)
	case kindWaiting:
		return WaitingOn(reason, msg)
	case kindStalled:
		return StalledOn(reason, msg)
	case kindPaused:
		return PausedHealth(PausedMessage)
	}
	panic("no constructor for " + string(kind))
}

// seen is what users and tools read off one object.
type seen struct {
	kstatus          status.Status
	argo             string
	ready, synced    metav1.ConditionStatus
	degraded, stuck  metav1.ConditionStatus
	progressing, rec metav1.ConditionStatus
}

// expected per kind, for an object never Ready before (fresh) and for one whose fleet was
// Ready at this generation (wasReady): trouble reaching Talis must not unsay Ready.
var expected = map[stateKind]struct{ fresh, wasReady seen }{
	kindReady: {
		fresh:    seen{status.CurrentStatus, "Healthy", "True", "True", "False", "False", "False", "False"},
		wasReady: seen{status.CurrentStatus, "Healthy", "True", "True", "False", "False", "False", "False"},
	},
	kindConverging: {
		fresh:    seen{status.InProgressStatus, "Progressing", "False", "True", "False", "False", "True", "True"},
		wasReady: seen{status.InProgressStatus, "Progressing", "False", "True", "False", "False", "True", "True"},
	},
	kindRepairing: {
		fresh:    seen{status.InProgressStatus, "Progressing", "False", "True", "True", "False", "True", "True"},
		wasReady: seen{status.InProgressStatus, "Progressing", "False", "True", "True", "False", "True", "True"},
	},
	kindWarned: {
		fresh:    seen{status.CurrentStatus, "Healthy", "True", "True", "True", "False", "False", "False"},
		wasReady: seen{status.CurrentStatus, "Healthy", "True", "True", "True", "False", "False", "False"},
	},
	kindRetrying: {
		fresh:    seen{status.InProgressStatus, "Progressing", "False", "False", "False", "False", "True", "True"},
		wasReady: seen{status.InProgressStatus, "Progressing", "True", "False", "False", "False", "True", "True"},
	},
	kindWaiting: {
		fresh:    seen{status.InProgressStatus, "Progressing", "False", "False", "False", "False", "True", "True"},
		wasReady: seen{status.InProgressStatus, "Progressing", "True", "False", "False", "False", "True", "True"},
	},
	kindStalled: {
		fresh:    seen{status.FailedStatus, "Degraded", "False", "False", "True", "True", "False", "False"},
		wasReady: seen{status.FailedStatus, "Degraded", "True", "False", "True", "True", "False", "False"},
	},
	kindPaused: {
		// kstatus reads a Ready=False custom resource as not there yet.
		fresh:    seen{status.InProgressStatus, "Suspended", "False", "False", "False", "False", "False", "False"},
		wasReady: seen{status.CurrentStatus, "Suspended", "True", "False", "False", "False", "False", "False"},
	},
}

var validReason = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// TestConditionModel runs every reason through its constructor and reads the result the way
// Flux and kubectl wait (kstatus's own library) and Argo CD (the shipped Lua script) do.
func TestConditionModel(t *testing.T) {
	for reason, kind := range reasonKinds {
		if kind == kindQuiet {
			continue
		}
		for _, wasReady := range []bool{false, true} {
			t.Run(reason+map[bool]string{false: "/fresh", true: "/wasReady"}[wasReady], func(t *testing.T) {
				g := NewWithT(t)
				g.Expect(validReason.MatchString(reason)).To(BeTrue(), "the API server accepts only CamelCase reasons")
				const gen = 3
				obj := setObject(gen)
				if wasReady {
					FleetReady("ready").Apply(&obj.Status.Conditions, gen)
				}
				h := build(kind, reason)
				h.Apply(&obj.Status.Conditions, gen)
				got := read(g, obj)
				want := expected[kind].fresh
				if wasReady {
					want = expected[kind].wasReady
				}
				g.Expect(got).To(Equal(want))

				g.Expect(got.progressing).To(Equal(got.rec), "Reconciling mirrors Progressing")
				g.Expect(got.rec == "True" && got.stuck == "True").To(BeFalse(), "never Reconciling and Stalled at once")
				if got.stuck == "True" {
					g.Expect(got.degraded).To(Equal(metav1.ConditionTrue), "Stalled implies Degraded")
				}
				for _, c := range obj.Status.Conditions {
					g.Expect(c.ObservedGeneration).To(Equal(int64(gen)), c.Type)
					g.Expect(validReason.MatchString(c.Reason)).To(BeTrue(), c.Type+" reason "+c.Reason)
				}
				if kind != kindPaused && kind != kindReady {
					g.Expect(infrav1.StatusReason(obj.Status.Conditions)).To(Equal(reason), "events and STATUS name the reason")
				}
				g.Expect(h.Warning()).To(Equal(kind == kindRepairing || kind == kindWarned || kind == kindRetrying || kind == kindStalled))
			})
		}
	}
}

// A Ready about an older spec says nothing about this one.
func TestConditionModelStaleReady(t *testing.T) {
	g := NewWithT(t)
	obj := setObject(4)
	FleetReady("ready").Apply(&obj.Status.Conditions, 3)
	Retrying(infrav1.ReasonTalisUnavailable, "down").Apply(&obj.Status.Conditions, 4)
	got := read(g, obj)
	g.Expect(got.ready).To(Equal(metav1.ConditionFalse))
	g.Expect(ReasonOf(obj.Status.Conditions, infrav1.ConditionReady)).To(Equal(infrav1.ReasonTalisUnavailable))
	g.Expect(got.kstatus).To(Equal(status.InProgressStatus))
}

// Every reason the API defines is in the model's table.
func TestConditionModelCoversEveryReason(t *testing.T) {
	g := NewWithT(t)
	defined := apiReasons(g)
	g.Expect(defined).NotTo(BeEmpty())
	for _, r := range defined {
		g.Expect(reasonKinds).To(HaveKey(r), "reason %s has no place in the condition model", r)
	}
	g.Expect(reasonKinds).To(HaveLen(len(defined)), "the table names a reason the API does not define")
}

// docs/conditions.md states the same table; README's troubleshooting table names every reason.
func TestConditionDocsMatchModel(t *testing.T) {
	g := NewWithT(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "conditions.md"))
	g.Expect(err).NotTo(HaveOccurred())
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\| ([a-z, ]+) \\|")
	documented := map[string]stateKind{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = stateKind(m[2])
	}
	g.Expect(documented).To(Equal(reasonKinds))

	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	g.Expect(err).NotTo(HaveOccurred())
	for r, kind := range reasonKinds {
		if kind != kindQuiet && kind != kindReady {
			g.Expect(strings.Contains(string(readme), "`"+r+"`")).To(BeTrue(), "README's troubleshooting table lacks %s", r)
		}
	}
}

func setObject(gen int64) *infrav1.TalisInstanceSet {
	s := &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: gen}}
	s.Status.ObservedGeneration = gen
	return s
}

func read(g Gomega, s *infrav1.TalisInstanceSet) seen {
	if isPausedReason(s.Status.Conditions) {
		s.Annotations = map[string]string{infrav1.PausedAnnotation: "true"}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	g.Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(infrav1.GroupVersion.WithKind("TalisInstanceSet"))
	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	argo, err := harness.ArgoHealth(u.Object)
	g.Expect(err).NotTo(HaveOccurred())
	of := func(typ string) metav1.ConditionStatus {
		c := FindCondition(s.Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil(), typ)
		return c.Status
	}
	return seen{
		kstatus: res.Status, argo: argo,
		ready: of(infrav1.ConditionReady), synced: of(infrav1.ConditionSynced),
		degraded: of(infrav1.ConditionDegraded), stuck: of(infrav1.ConditionStalled),
		progressing: of(infrav1.ConditionProgressing), rec: of(infrav1.ConditionReconciling),
	}
}

func isPausedReason(conds []metav1.Condition) bool {
	return ReasonOf(conds, infrav1.ConditionSynced) == infrav1.ReasonPaused
}

// apiReasons lists the values of every Reason* constant in api/v1alpha1.
func apiReasons(g Gomega) []string {
	dir := filepath.Join("..", "..", "..", "api", "v1alpha1")
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	g.Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if strings.HasPrefix(name.Name, "Reason") && i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, err := strconv.Unquote(lit.Value)
							g.Expect(err).NotTo(HaveOccurred())
							out = append(out, v)
						}
					}
				}
				return true
			})
		}
	}
	sort.Strings(out)
	return out
}
