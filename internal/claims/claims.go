package claims

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Refusal is why a TalisProject may not use the Talis project its status names.
type Refusal struct {
	Reason  string // a condition reason
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// Verifier checks claims and remembers the ones it has seen hold, per object, in this process:
// memory is the one place a tenant cannot write.
type Verifier struct {
	Conns *talisconn.Registry

	mu       sync.Mutex
	verified map[types.UID]claim
}

// claim is what a project's status says it uses: any change to it is checked again.
type claim struct {
	endpoint string
	owner    int64
	name     string
	id       int64
	adopts   bool
}

func (v *Verifier) claimOf(p *infrav1.TalisProject) claim {
	return claim{endpoint: v.Conns.Endpoint(p), owner: p.Status.OwnerID, name: p.Status.ProjectName,
		id: p.Status.ProjectID, adopts: adopts(p)}
}

func adopts(p *infrav1.TalisProject) bool { return p.Annotations[infrav1.AdoptAnnotation] == "true" }

// Check reports why p may not use got, the Talis project its status names (nil when it may),
// given every TalisProject. The creator (its marker in got's config) always may; an object
// with the adopt annotation may unless the creator or an older adopter holds got too, or got's
// name is another namespace's default name. A project
// without a marker is held by the oldest object that claims it; a first claim on one needs the
// adopt annotation (see NotCreatedHere), a claim recorded before markers existed does not.
func (v *Verifier) Check(p *infrav1.TalisProject, got *talis.Project, all []infrav1.TalisProject) *Refusal {
	if int64(got.ID) != p.Status.ProjectID {
		return &Refusal{Reason: infrav1.ReasonNotOwned, Message: fmt.Sprintf(
			"status.projectID %d is not the ID of Talis project %q (%d); status is the operator's record and was changed by someone else: restore it, or clear status.projectID to look the project up again",
			p.Status.ProjectID, got.Name, got.ID)}
	}
	marker := MarkerOf(got.Config)
	if marker == v.marker(p) {
		return nil
	}
	if cluster, ok := strings.CutSuffix(marker, "/"+p.Namespace+"/"+p.Name); ok && !strings.Contains(cluster, "/") && !adopts(p) {
		return &Refusal{Reason: infrav1.ReasonNotOwned, Message: fmt.Sprintf(
			"Talis project %q was created by this TalisProject under cluster ID %q, and the manager's --cluster-id is now %q (it names the cluster's projects and instances): restore it; nothing is sent meanwhile",
			got.Name, cluster, v.Conns.ClusterID())}
	}
	if marker != "" && !adopts(p) {
		return NotCreatedHere(got)
	}
	// A name with another namespace's default shape is that namespace's: spec.projectName cannot
	// name it, so neither may a status that others than the operator can write (e.g. to adopt
	// the project that namespace's Orphan deletion left).
	if ns, ok := DefaultNamespaceOf(got.Name); ok && ns != p.Namespace {
		return &Refusal{Reason: infrav1.ReasonNameForbidden, Message: fmt.Sprintf(
			"status names Talis project %q, which has the form of namespace %q's default name (<namespace>.<name>.<cluster>) and is not this object's: only that namespace may adopt it; status is the operator's record and was changed by someone else, restore it or clear status.projectID to look the project up again",
			got.Name, ns)}
	}
	// Adopted, or unmarked (made outside Kubernetes, or by a version from before markers): no
	// proof in Talis, so the first object to have claimed it keeps it.
	for i := range all {
		o := &all[i]
		if o.UID == p.UID || !v.claimsGot(o, got, v.Conns.Endpoint(p)) {
			continue
		}
		if marker == v.marker(o) || (adopts(o) || marker == "") && v.claimedFirst(o, p) {
			return &Refusal{Reason: infrav1.ReasonProjectInUse, Message: fmt.Sprintf(
				"Talis project %q is used by another TalisProject; a Talis project is never shared, set spec.projectName to another name", got.Name)}
		}
	}
	return nil
}

// NotCreatedHere refuses a first claim on a Talis project another object or someone outside
// Kubernetes created, without the adopt annotation.
func NotCreatedHere(got *talis.Project) *Refusal {
	return &Refusal{Reason: infrav1.ReasonNotOwned, Message: fmt.Sprintf(
		"Talis project %q already exists and was not created by this TalisProject; to use it, add the annotation %s=\"true\" (its instances and, with deletionPolicy Delete, the project itself then belong to this object)",
		got.Name, infrav1.AdoptAnnotation)}
}

// HeldByAnother reports whether another TalisProject's claim on got, the Talis project at p's
// endpoint, holds.
func (v *Verifier) HeldByAnother(p *infrav1.TalisProject, got *talis.Project, all []infrav1.TalisProject) bool {
	for i := range all {
		o := &all[i]
		if o.UID != p.UID && v.claimsGot(o, got, v.Conns.Endpoint(p)) && v.Check(o, got, all) == nil {
			return true
		}
	}
	return false
}

// Verify checks p's claim against Talis unless this process has seen it hold, and remembers
// it when it does. err is a Talis or Kubernetes failure; refusal says the claim does not hold.
func (v *Verifier) Verify(ctx context.Context, c client.Reader, conn *talisconn.Connection, p *infrav1.TalisProject) (*Refusal, error) {
	if v.Holds(p) {
		return nil, nil
	}
	got, err := conn.Client.GetProject(ctx, talis.ProjectGetParams{Name: p.Status.ProjectName, OwnerID: uint(p.Status.OwnerID)})
	if talis.IsNotFound(err) {
		return &Refusal{Reason: infrav1.ReasonProjectNotFound, Message: fmt.Sprintf(
			"Talis project %q of owner %d, which status names, does not exist", p.Status.ProjectName, p.Status.OwnerID)}, nil
	}
	if err != nil {
		return nil, err
	}
	var all infrav1.TalisProjectList
	if err := c.List(ctx, &all); err != nil {
		return nil, err
	}
	if refusal := v.Check(p, &got, all.Items); refusal != nil {
		return refusal, nil
	}
	v.Remember(p)
	return nil, nil
}

// Remember records that p's current claim holds.
func (v *Verifier) Remember(p *infrav1.TalisProject) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verified == nil {
		v.verified = map[types.UID]claim{}
	}
	v.verified[p.UID] = v.claimOf(p)
}

// Holds reports whether p's current claim is the one last seen to hold.
func (v *Verifier) Holds(p *infrav1.TalisProject) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.verified[p.UID]
	return ok && c == v.claimOf(p)
}

// Forget drops what is remembered of p.
func (v *Verifier) Forget(uid types.UID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.verified, uid)
}

func (v *Verifier) marker(p *infrav1.TalisProject) string {
	return Marker(v.Conns.ClusterID(), p.Namespace, p.Name)
}

// claimsGot: o's status names got, the Talis project at endpoint.
func (v *Verifier) claimsGot(o *infrav1.TalisProject, got *talis.Project, endpoint string) bool {
	return o.Status.ProjectID == int64(got.ID) && o.Status.ProjectName == got.Name &&
		talisconn.SameURL(v.Conns.Endpoint(o), endpoint)
}

// claimedFirst orders claims without proof in Talis: one this process has seen hold comes
// first; otherwise (after a restart) the older object.
func (v *Verifier) claimedFirst(a, b *infrav1.TalisProject) bool {
	if ha, hb := v.Holds(a), v.Holds(b); ha != hb {
		return ha
	}
	return older(a, b)
}

func older(a, b *infrav1.TalisProject) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.UID < b.UID
}
