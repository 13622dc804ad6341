package claims

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

const url = "http://talis.example"

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func verifier() *Verifier {
	return &Verifier{Conns: talisconn.NewRegistry(talisconn.Defaults{URL: url, ClusterID: "c"}, nil)}
}

// claimant is a TalisProject created at t0+age whose status names Talis project "x" (ID 7).
func claimant(ns, name string, age time.Duration, adopt bool) infrav1.TalisProject {
	p := infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name),
		CreationTimestamp: metav1.Time{Time: t0.Add(age)}}}
	if adopt {
		p.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"}
	}
	p.Status = infrav1.TalisProjectStatus{ProjectName: "x", ProjectID: 7, Endpoint: url}
	return p
}

func project(marker string) *talis.Project {
	cfg := ""
	if marker != "" {
		cfg = `{"settings":{"` + markerKey + `":"` + marker + `"}}`
	}
	return &talis.Project{ID: 7, Name: "x", Config: cfg}
}

func TestClaims(t *testing.T) {
	victim := claimant("victim", "p", 0, false)
	forger := claimant("tenant", "p", -time.Hour, false) // older, status written by the tenant
	forgerAdopts := claimant("tenant", "q", -time.Hour, true)
	adopter := claimant("team", "a", time.Hour, true)
	laterAdopter := claimant("team", "b", 2*time.Hour, true)
	legacy := claimant("old", "p", 0, false)
	for _, c := range []struct {
		name    string
		p       infrav1.TalisProject
		got     *talis.Project
		all     []infrav1.TalisProject
		held    []infrav1.TalisProject
		reason  string // "" when the claim holds
		message string // in the refusal
	}{
		{name: "the creator, whoever else claims it", p: victim, got: project("c/victim/p"), all: []infrav1.TalisProject{forger, forgerAdopts}},
		{name: "another object's project, by status", p: forger, got: project("c/victim/p"), all: []infrav1.TalisProject{victim, forger}, reason: infrav1.ReasonNotOwned},
		{name: "another cluster's marker for the same namespace and name", p: victim, got: project("other/victim/p"), reason: infrav1.ReasonNotOwned,
			message: `under cluster ID "other", and the manager's --cluster-id is now "c"`},
		{name: "adopting what its creator holds", p: forgerAdopts, got: project("c/victim/p"), all: []infrav1.TalisProject{victim, forgerAdopts}, reason: infrav1.ReasonProjectInUse},
		{name: "adopting what its creator no longer holds", p: adopter, got: project("c/gone/p"), all: []infrav1.TalisProject{adopter}},
		{name: "a forged claim without the annotation does not block an adopter", p: adopter, got: project("c/gone/p"), all: []infrav1.TalisProject{forger, adopter}},
		{name: "a later adopter", p: laterAdopter, got: project("c/gone/p"), all: []infrav1.TalisProject{adopter, laterAdopter}, reason: infrav1.ReasonProjectInUse},
		{name: "an older adopter does not take what a held claim has", p: forgerAdopts, got: project("c/gone/p"),
			all: []infrav1.TalisProject{adopter, forgerAdopts}, held: []infrav1.TalisProject{adopter}, reason: infrav1.ReasonProjectInUse},
		{name: "the held claim stays held against an older one", p: adopter, got: project("c/gone/p"),
			all: []infrav1.TalisProject{adopter, forgerAdopts}, held: []infrav1.TalisProject{adopter}},
		{name: "a claim from before markers", p: legacy, got: project(""), all: []infrav1.TalisProject{legacy}},
		{name: "an older claim on an unmarked project", p: legacy, got: project(""), all: []infrav1.TalisProject{legacy, forger}, reason: infrav1.ReasonProjectInUse},
		{name: "status.projectID of another project", p: func() infrav1.TalisProject { p := victim; p.Status.ProjectID = 8; return p }(),
			got: project("c/victim/p"), reason: infrav1.ReasonNotOwned},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := verifier()
			for i := range c.held {
				v.Remember(&c.held[i])
			}
			refusal := v.Check(&c.p, c.got, c.all)
			switch {
			case c.reason == "" && refusal != nil:
				t.Errorf("refused (%s): %s", refusal.Reason, refusal.Message)
			case c.reason != "" && refusal == nil:
				t.Errorf("holds, want refused with %s", c.reason)
			case c.reason != "" && refusal.Reason != c.reason:
				t.Errorf("refused with %s (%s), want %s", refusal.Reason, refusal.Message, c.reason)
			case refusal != nil && !strings.Contains(refusal.Message, c.message):
				t.Errorf("refusal %q does not say %q", refusal.Message, c.message)
			}
		})
	}
}

// A Talis project under namespace victim's default name, left by an Orphan deletion, may be
// taken back by that namespace (its creator, or an adopter of its own) and by no other: status
// can be written by others and could name it where spec.projectName may not.
func TestOtherNamespacesDefaultNamesAreNotAdopted(t *testing.T) {
	const name = "victim.p.0123456789"
	named := func(p infrav1.TalisProject) infrav1.TalisProject {
		p.Status.ProjectName = name
		return p
	}
	got := func(marker string) *talis.Project {
		g := project(marker)
		g.Name = name
		return g
	}
	for _, c := range []struct {
		desc   string
		p      infrav1.TalisProject
		got    *talis.Project
		reason string
	}{
		{desc: "re-created in its namespace", p: named(claimant("victim", "p", 0, false)), got: got("c/victim/p")},
		{desc: "adopted in its namespace", p: named(claimant("victim", "q", 0, true)), got: got("c/victim/p")},
		{desc: "adopted from another namespace", p: named(claimant("tenant", "p", 0, true)), got: got("c/victim/p"), reason: infrav1.ReasonNameForbidden},
		{desc: "unmarked, adopted from another namespace", p: named(claimant("tenant", "p", 0, true)), got: got(""), reason: infrav1.ReasonNameForbidden},
		{desc: "named from another namespace without adopting", p: named(claimant("tenant", "p", 0, false)), got: got("c/victim/p"), reason: infrav1.ReasonNotOwned},
	} {
		t.Run(c.desc, func(t *testing.T) {
			refusal := verifier().Check(&c.p, c.got, []infrav1.TalisProject{c.p})
			switch {
			case c.reason == "" && refusal != nil:
				t.Errorf("refused (%s): %s", refusal.Reason, refusal.Message)
			case c.reason != "" && refusal == nil:
				t.Errorf("holds, want refused with %s", c.reason)
			case c.reason != "" && refusal.Reason != c.reason:
				t.Errorf("refused with %s (%s), want %s", refusal.Reason, refusal.Message, c.reason)
			}
		})
	}
}

func TestHeldClaimsAreForgottenWhenStatusChanges(t *testing.T) {
	v := verifier()
	p := claimant("ns", "p", 0, false)
	v.Remember(&p)
	if !v.Holds(&p) {
		t.Fatal("a remembered claim does not hold")
	}
	for name, change := range map[string]func(*infrav1.TalisProject){
		"projectName": func(p *infrav1.TalisProject) { p.Status.ProjectName = "victim" },
		"projectID":   func(p *infrav1.TalisProject) { p.Status.ProjectID = 8 },
		"ownerID":     func(p *infrav1.TalisProject) { p.Status.OwnerID = 9 },
		"endpoint":    func(p *infrav1.TalisProject) { p.Status.Endpoint = "http://elsewhere" },
		"adoption":    func(p *infrav1.TalisProject) { p.Annotations = map[string]string{infrav1.AdoptAnnotation: "true"} },
	} {
		changed := p.DeepCopy()
		change(changed)
		if v.Holds(changed) {
			t.Errorf("a claim with another %s holds without a new check", name)
		}
	}
	v.Forget(p.UID)
	if v.Holds(&p) {
		t.Error("a forgotten claim holds")
	}
}
