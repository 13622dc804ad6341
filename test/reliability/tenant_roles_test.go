package reliability

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// TestTenantRoles checks the editor and viewer ClusterRoles of config/rbac against a real
// apiserver: editors create, edit, scale and delete, viewers read, and no tenant writes status,
// which steers the operator's Talis calls. First the roles are bound directly; then through the
// built-in admin, edit and view roles, aggregated here as kube-controller-manager would (envtest
// runs none), from those roles' real aggregationRules and the labels in config/rbac.
func TestTenantRoles(t *testing.T) {
	files := map[string][]string{
		"editor": {"talisproject_editor_role.yaml", "talisinstanceset_editor_role.yaml"},
		"viewer": {"talisproject_viewer_role.yaml", "talisinstanceset_viewer_role.yaml"},
	}
	t.Run("bound directly", func(t *testing.T) {
		ns, other := namespace(t, "tenant-roles"), namespace(t, "tenant-roles-other")
		editor := newTenant(t, ns, "editor-"+ns, fileRoles(t, files["editor"]...)...)
		viewer := newTenant(t, ns, "viewer-"+ns, fileRoles(t, files["viewer"]...)...)
		checkTenants(t, ns, other, viewer, editor)
	})
	t.Run("through admin, edit and view", func(t *testing.T) {
		ns, other := namespace(t, "tenant-builtin"), namespace(t, "tenant-builtin-other")
		ours := fileRoles(t, slices.Concat(files["editor"], files["viewer"])...)
		admin := newTenant(t, ns, "admin-"+ns, aggregate(t, "admin", ours))
		edit := newTenant(t, ns, "edit-"+ns, aggregate(t, "edit", ours))
		view := newTenant(t, ns, "view-"+ns, aggregate(t, "view", ours))
		checkTenants(t, ns, other, view, edit, admin)
	})
}

// checkTenants: the first editor creates a project and a set in ns (not in other); every editor
// edits and scales them; no one writes their status; the viewer only reads; the first editor
// deletes them.
func checkTenants(t *testing.T, ns, other string, viewer tenant, editors ...tenant) {
	// What a tenant would forge: another namespace's Talis project and set identity, both valid,
	// so only authorization can refuse them.
	const victim, identity = "victim.project.0123456789abcdef", "0123456789abcdef0123"
	forged := map[schema.GroupVersionResource]map[string]any{
		projectsGVR: {"projectName": victim, "projectID": int64(42)},
		setsGVR:     {"projectName": victim, "identity": identity},
	}
	names := map[schema.GroupVersionResource]string{projectsGVR: "project", setsGVR: "set"}

	// A status sent with the create is dropped by the apiserver.
	project := harness.Project(ns, names[projectsGVR])
	project.Status.ProjectName = victim
	set := harness.Set(ns, names[setsGVR], project.Name, 1)
	set.Status.Identity = identity
	for _, o := range []client.Object{project, set} {
		if err := editors[0].c.Create(ctx, o); err != nil {
			t.Fatalf("%s cannot create %T: %v", editors[0].name, o, err)
		}
	}
	expectForbidden(t, editors[0].name+" creates in a namespace it is not bound in",
		editors[0].c.Create(ctx, harness.Project(other, "project")))

	for _, e := range editors {
		// An edit of the object that carries status changes all but status.
		expectAllowed(t, e.name+" edits the project", harness.Patch(ctx, e.c, project, func(p *infrav1.TalisProject) {
			p.Labels = map[string]string{"team": "a"}
			p.Status.ProjectName = victim
		}))
		expectAllowed(t, e.name+" edits the set", harness.Patch(ctx, e.c, set, func(s *infrav1.TalisInstanceSet) {
			s.Spec.Replicas = ptr.To[int32](2)
			s.Status.Identity = identity
		}))

		// kubectl scale patches the scale subresource; autoscalers get and update it.
		sets := e.dyn.Resource(setsGVR).Namespace(ns)
		expectAllowed(t, e.name+" patches the set's scale", patch(sets, set.Name, types.MergePatchType, map[string]any{"spec": map[string]any{"replicas": 3}}, "scale"))
		if scale, err := sets.Get(ctx, set.Name, metav1.GetOptions{}, "scale"); err != nil {
			t.Errorf("%s gets the set's scale: %v", e.name, err)
		} else {
			_ = unstructured.SetNestedField(scale.Object, int64(4), "spec", "replicas")
			_, err := sets.Update(ctx, scale, metav1.UpdateOptions{}, "scale")
			expectAllowed(t, e.name+" updates the set's scale", err)
		}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(set), set); err != nil {
			t.Fatal(err)
		}
		if set.Spec.Replicas == nil || *set.Spec.Replicas != 4 {
			t.Errorf("spec.replicas %v after %s scaled the set to 4", set.Spec.Replicas, e.name)
		}
	}

	for _, gvr := range []schema.GroupVersionResource{projectsGVR, setsGVR} {
		for _, who := range append([]tenant{viewer}, editors...) {
			r := who.dyn.Resource(gvr).Namespace(ns)
			for _, how := range slices.Sorted(maps.Keys(statusWrites)) {
				expectForbidden(t, fmt.Sprintf("%s: %s of %s/status", who.name, how, gvr.Resource),
					statusWrites[how](r, gvr, names[gvr], forged[gvr]))
			}
			_, err := r.Get(ctx, names[gvr], metav1.GetOptions{}, "status")
			expectAllowed(t, fmt.Sprintf("%s gets %s/status", who.name, gvr.Resource), err)
		}
	}
	// Whatever was tried, status is still empty: only the operator (not running here) writes it.
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(project), project); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(set), set); err != nil {
		t.Fatal(err)
	}
	if project.Status.ProjectName != "" || project.Status.ProjectID != 0 || set.Status.Identity != "" || set.Status.ProjectName != "" {
		t.Errorf("a tenant wrote status: project %+v, set %+v", project.Status, set.Status)
	}

	// The viewer reads, lists and watches, and changes nothing.
	for _, gvr := range []schema.GroupVersionResource{projectsGVR, setsGVR} {
		r := viewer.dyn.Resource(gvr).Namespace(ns)
		_, err := r.Get(ctx, names[gvr], metav1.GetOptions{})
		expectAllowed(t, viewer.name+" gets "+gvr.Resource, err)
		_, err = r.List(ctx, metav1.ListOptions{})
		expectAllowed(t, viewer.name+" lists "+gvr.Resource, err)
		w, err := r.Watch(ctx, metav1.ListOptions{})
		expectAllowed(t, viewer.name+" watches "+gvr.Resource, err)
		if err == nil {
			w.Stop()
		}
		expectForbidden(t, viewer.name+" patches "+gvr.Resource,
			patch(r, names[gvr], types.MergePatchType, map[string]any{"metadata": map[string]any{"labels": map[string]any{"x": "y"}}}, ""))
		expectForbidden(t, viewer.name+" deletes "+gvr.Resource, r.Delete(ctx, names[gvr], metav1.DeleteOptions{}))
	}
	expectForbidden(t, viewer.name+" creates a TalisProject", viewer.c.Create(ctx, harness.Project(ns, "viewers")))
	expectForbidden(t, viewer.name+" creates a TalisInstanceSet", viewer.c.Create(ctx, harness.Set(ns, "viewers", project.Name, 1)))
	expectForbidden(t, viewer.name+" scales the set",
		patch(viewer.dyn.Resource(setsGVR).Namespace(ns), set.Name, types.MergePatchType, map[string]any{"spec": map[string]any{"replicas": 1}}, "scale"))

	// No manager runs here to add finalizers.
	expectAllowed(t, editors[0].name+" deletes the set", editors[0].c.Delete(ctx, set))
	expectAllowed(t, editors[0].name+" deletes the project", editors[0].c.Delete(ctx, project))
}

func namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := cp.NewNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// fileRoles reads ClusterRoles from config/rbac: what kustomize renders, but for the name prefix.
func fileRoles(t *testing.T, files ...string) []rbacv1.ClusterRole {
	t.Helper()
	out := make([]rbacv1.ClusterRole, len(files))
	for i, f := range files {
		if err := cp.ReadRBAC(f, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// aggregate returns the built-in ClusterRole called builtin with the rules the aggregation
// controller would give it: those of every ClusterRole in the cluster or in ours that its
// aggregationRule selects.
func aggregate(t *testing.T, builtin string, ours []rbacv1.ClusterRole) rbacv1.ClusterRole {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: builtin}, &role); err != nil {
		t.Fatal(err)
	}
	if role.AggregationRule == nil {
		t.Fatalf("ClusterRole %s has no aggregationRule", builtin)
	}
	var all rbacv1.ClusterRoleList
	if err := cp.Client.List(ctx, &all); err != nil {
		t.Fatal(err)
	}
	out := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: builtin}}
	var included []string
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range slices.Concat(all.Items, ours) {
			if r.Name != builtin && s.Matches(labels.Set(r.Labels)) && !slices.Contains(included, r.Name) {
				included = append(included, r.Name)
				out.Rules = append(out.Rules, r.Rules...)
			}
		}
	}
	for _, r := range ours {
		if _, want := r.Labels["rbac.authorization.k8s.io/aggregate-to-"+builtin]; want != slices.Contains(included, r.Name) {
			t.Errorf("%s aggregates %v, which should include %s exactly when it has the label", builtin, included, r.Name)
		}
	}
	return out
}

var (
	projectsGVR = infrav1.GroupVersion.WithResource("talisprojects")
	setsGVR     = infrav1.GroupVersion.WithResource("talisinstancesets")
	kinds       = map[schema.GroupVersionResource]string{projectsGVR: "TalisProject", setsGVR: "TalisInstanceSet"}
)

// tenant is a user holding some of the tenant ClusterRoles in one namespace.
type tenant struct {
	name string
	c    client.Client
	dyn  dynamic.Interface
}

// newTenant installs roles (renamed per tenant, unlabelled so that nothing could aggregate them)
// and binds them to a new user in ns with RoleBindings, as an admin would.
func newTenant(t *testing.T, ns, name string, roles ...rbacv1.ClusterRole) tenant {
	t.Helper()
	for _, role := range roles {
		role.ObjectMeta = metav1.ObjectMeta{Name: role.Name + "-" + name}
		role.AggregationRule = nil
		if err := cp.Client.Create(ctx, &role); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.Delete(ctx, &role) })
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}}
		if err := cp.Client.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
	}
	// Without a logger controller-runtime prints a warning and a stack for the client.
	log.SetLogger(logr.Discard())
	user, err := cp.Env.ControlPlane.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(user.Config(), client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(user.Config())
	if err != nil {
		t.Fatal(err)
	}
	return tenant{name: name, c: c, dyn: dyn}
}

// statusWrites are the ways to write a status subresource: update, and each patch type a custom
// resource accepts. Each sets status to forged.
var statusWrites = map[string]func(r dynamic.ResourceInterface, gvr schema.GroupVersionResource, name string, forged map[string]any) error{
	"update": func(r dynamic.ResourceInterface, _ schema.GroupVersionResource, name string, forged map[string]any) error {
		u, err := r.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		u.Object["status"] = forged
		_, err = r.UpdateStatus(ctx, u, metav1.UpdateOptions{})
		return err
	},
	"merge patch": func(r dynamic.ResourceInterface, _ schema.GroupVersionResource, name string, forged map[string]any) error {
		return patch(r, name, types.MergePatchType, map[string]any{"status": forged}, "status")
	},
	"JSON patch": func(r dynamic.ResourceInterface, _ schema.GroupVersionResource, name string, forged map[string]any) error {
		return patch(r, name, types.JSONPatchType, []any{map[string]any{"op": "add", "path": "/status", "value": forged}}, "status")
	},
	"apply": func(r dynamic.ResourceInterface, gvr schema.GroupVersionResource, name string, forged map[string]any) error {
		u := &unstructured.Unstructured{Object: map[string]any{"status": forged}}
		u.SetGroupVersionKind(gvr.GroupVersion().WithKind(kinds[gvr]))
		u.SetName(name)
		_, err := r.ApplyStatus(ctx, name, u, metav1.ApplyOptions{FieldManager: "tenant", Force: true})
		return err
	},
}

func patch(r dynamic.ResourceInterface, name string, pt types.PatchType, body any, subresource string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var sub []string
	if subresource != "" {
		sub = []string{subresource}
	}
	_, err = r.Patch(ctx, name, pt, b, metav1.PatchOptions{FieldManager: "tenant"}, sub...)
	return err
}

func expectForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: %v, want Forbidden", what, err)
	}
}

func expectAllowed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}
