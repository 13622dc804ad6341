package reliability

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// obj is a JSON object being edited by a test case.
type obj = map[string]any

func validSet() obj {
	return obj{
		"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisInstanceSet",
		"metadata": obj{"name": "web"},
		"spec": obj{
			"projectRef": obj{"name": "p"},
			"replicas":   int64(2),
			"template": obj{
				"provider": "do", "region": "nyc1", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64",
				"tags":    []any{"team:infra"},
				"volumes": []any{obj{"name": "data", "sizeGB": int64(10)}},
			},
		},
	}
}

func validProject() obj {
	return obj{
		"apiVersion": "infra.talis.io/v1alpha1", "kind": "TalisProject",
		"metadata": obj{"name": "p"},
		"spec":     obj{"description": "valid", "config": obj{"resources": obj{}, "settings": obj{}}},
	}
}

// at walks a dotted path ("spec.template.volumes.0") and returns the parent and the last key.
func at(o obj, path string) (any, string) {
	parts := strings.Split(path, ".")
	var cur any = o
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case obj:
			if _, ok := c[p]; !ok {
				c[p] = obj{}
			}
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			cur = c[i]
		}
	}
	return cur, parts[len(parts)-1]
}

func set(path string, v any) func(obj) {
	return func(o obj) {
		parent, key := at(o, path)
		switch p := parent.(type) {
		case obj:
			p[key] = v
		case []any:
			var i int
			fmt.Sscan(key, &i)
			p[i] = v
		}
	}
}

func del(path string) func(obj) {
	return func(o obj) {
		parent, key := at(o, path)
		delete(parent.(obj), key)
	}
}

func all(fs ...func(obj)) func(obj) {
	return func(o obj) {
		for _, f := range fs {
			f(o)
		}
	}
}

func repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

type admissionCase struct {
	name   string
	base   func() obj
	mutate func(obj)
	// want are substrings of the apiserver's message, which is what kubectl prints.
	want []string
}

// createRejected creates each case's object in ns and requires the apiserver to refuse it with
// an error that accept takes and a message holding every wanted substring; it returns how many
// were refused that way.
func createRejected(t *testing.T, ns string, cases []admissionCase, accept func(error) bool) (rejected int) {
	t.Helper()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.base()
			c.mutate(o)
			u := &unstructured.Unstructured{Object: o}
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("bad-%d", i))
			err := cp.Client.Create(ctx, u)
			if err == nil {
				t.Fatalf("accepted; want a rejection mentioning %q", c.want)
			}
			if !accept(err) {
				t.Fatalf("want an Invalid error mentioning %q, got %T %v", c.want, err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not mention %q:\n%s", w, err)
				}
			}
			rejected++
		})
	}
	return rejected
}

// TestAdmissionRejectsInvalidObjects sends invalid objects to the apiserver and requires each
// to be refused with a message that names the field and the rule.
func TestAdmissionRejectsInvalidObjects(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "admission")
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []admissionCase{
		// Sets: numbers.
		{"negative replicas", validSet, set("spec.replicas", int64(-1)), []string{"spec.replicas", "greater than or equal to 0"}},
		{"oversize replicas", validSet, set("spec.replicas", int64(100000)), []string{"spec.replicas", "less than or equal to"}},
		{"replicas of the wrong type", validSet, set("spec.replicas", "three"), []string{"spec.replicas", "must be of type integer"}},
		{"zero volume size", validSet, set("spec.template.volumes.0.sizeGB", int64(0)), []string{"sizeGB", "greater than or equal to 1"}},
		{"oversize volume", validSet, set("spec.template.volumes.0.sizeGB", int64(16385)), []string{"sizeGB", "less than or equal to 16384"}},
		{"zero cpu", validSet, set("spec.template.cpu", int64(0)), []string{"spec.template.cpu", "greater than or equal to 1"}},
		{"oversize memory", validSet, set("spec.template.memory", int64(1<<30)), []string{"spec.template.memory", "less than or equal to"}},
		// Sets: missing fields.
		{"missing projectRef", validSet, del("spec.projectRef"), []string{"spec.projectRef", "Required value"}},
		{"empty projectRef name", validSet, set("spec.projectRef.name", ""), []string{"spec.projectRef.name", "at least 1 chars long"}},
		{"missing template", validSet, del("spec.template"), []string{"spec.template", "Required value"}},
		{"missing region", validSet, del("spec.template.region"), []string{"spec.template.region", "Required value"}},
		{"missing image", validSet, del("spec.template.image"), []string{"spec.template.image", "Required value"}},
		{"missing volumes", validSet, del("spec.template.volumes"), []string{"spec.template.volumes", "Required value"}},
		{"no volumes", validSet, set("spec.template.volumes", []any{}), []string{"spec.template.volumes", "at least 1 items"}},
		{"neither size nor cpu and memory", validSet, del("spec.template.size"), []string{"either size, or both cpu and memory, must be set"}},
		// Sets: enums and provider rules.
		{"unknown provider", validSet, set("spec.template.provider", "aws"), []string{"spec.template.provider", `Unsupported value: "aws"`, `"do"`, `"ximera"`}},
		{"ximera without cpu and memory", validSet, set("spec.template.provider", "ximera"), []string{"cpu and memory are required for the ximera provider"}},
		{"ximera with an image slug", validSet, all(set("spec.template.provider", "ximera"), set("spec.template.cpu", int64(2)), set("spec.template.memory", int64(2048))),
			[]string{"image must be a numeric OS id for the ximera provider"}},
		{"ximera with two volumes", validSet, all(set("spec.template.provider", "ximera"), set("spec.template.cpu", int64(2)), set("spec.template.memory", int64(2048)),
			set("spec.template.image", "123"), set("spec.template.volumes", []any{obj{"name": "a", "sizeGB": int64(1)}, obj{"name": "b", "sizeGB": int64(1)}})),
			[]string{"the ximera provider supports exactly one volume"}},
		{"volume in another region", validSet, set("spec.template.volumes.0.region", "ams3"), []string{"a volume's region must be empty or equal to the instance region"}},
		{"too many volumes", validSet, set("spec.template.volumes", repeat(17, func(i int) any { return obj{"name": fmt.Sprintf("v%d", i), "sizeGB": int64(1)} })),
			[]string{"spec.template.volumes", "must have at most 16 items"}},
		{"unknown strategy", validSet, set("spec.strategy.type", "BlueGreen"), []string{"spec.strategy.type", `Unsupported value: "BlueGreen"`}},
		{"maxSurge and maxUnavailable both 0", validSet, set("spec.strategy", obj{"type": "RollingUpdate", "rollingUpdate": obj{"maxSurge": int64(0), "maxUnavailable": int64(0)}}),
			[]string{"maxSurge and maxUnavailable cannot both be 0"}},
		{"rollingUpdate with Recreate", validSet, set("spec.strategy", obj{"type": "Recreate", "rollingUpdate": obj{"maxSurge": int64(1)}}),
			[]string{"rollingUpdate may only be set when type is RollingUpdate"}},
		{"unknown deletion policy", validSet, set("spec.deletionPolicy", "Keep"), []string{"spec.deletionPolicy", `Unsupported value: "Keep"`}},
		// Sets: payload rules.
		{"payload without provisioning", validSet, set("spec.template.payloadPath", "/srv/payload.sh"), []string{"provision must be true when payloadPath is set"}},
		{"execute without a payload", validSet, set("spec.template.executePayload", true), []string{"payloadPath is required when executePayload is true"}},
		{"relative payload path", validSet, all(set("spec.template.provision", true), set("spec.template.payloadPath", "srv/payload.sh")),
			[]string{"spec.template.payloadPath", "should match '^/'"}},
		// Sets: tags.
		{"tag with a space", validSet, set("spec.template.tags", []any{"team infra"}), []string{"spec.template.tags[0]", "should match"}},
		{"reserved tio- tag", validSet, set("spec.template.tags", []any{"tio-set:0123456789"}), []string{"tags starting with 'tio-' are reserved for talis-operator"}},
		{"too many tags", validSet, set("spec.template.tags", repeat(33, func(i int) any { return fmt.Sprintf("t%d", i) })), []string{"spec.template.tags", "must have at most 32 items"}},
		{"oversize tag", validSet, set("spec.template.tags", []any{long(129)}), []string{"spec.template.tags[0]", "Too long"}},
		{"duplicate tags", validSet, set("spec.template.tags", []any{"a", "a"}), []string{"spec.template.tags[1]", "Duplicate value"}},
		// Sets: oversize strings and durations.
		{"oversize region", validSet, set("spec.template.region", long(65)), []string{"spec.template.region", "Too long"}},
		{"oversize image", validSet, set("spec.template.image", long(256)), []string{"spec.template.image", "Too long"}},
		{"oversize ssh key path", validSet, set("spec.template.sshKeyPath", "/"+long(4096)), []string{"spec.template.sshKeyPath", "Too long"}},
		{"oversize annotation", validSet, set("metadata.annotations", obj{"x": long(300 << 10)}), []string{"metadata.annotations", "Too long"}},
		{"provisioningTimeout that is not a duration", validSet, set("spec.provisioningTimeout", "soon"), []string{"spec.provisioningTimeout", "duration"}},
		{"negative provisioningTimeout", validSet, set("spec.provisioningTimeout", "-5m"), []string{"spec.provisioningTimeout", "duration"}},
		// Projects.
		{"project name with a space", validProject, set("spec.projectName", "my project"), []string{"spec.projectName", "should match"}},
		{"owner 0", validProject, set("spec.ownerID", int64(0)), []string{"spec.ownerID", "greater than or equal to 1"}},
		{"owner above uint32", validProject, set("spec.ownerID", int64(1)<<32), []string{"spec.ownerID", "less than or equal to 4294967295"}},
		{"non-http URL", validProject, set("spec.connection.url", "ftp://talis.example.com"), []string{"url must be an http:// or https:// URL"}},
		{"empty Secret name", validProject, set("spec.connection.apiKeySecretRef", obj{"name": ""}), []string{"spec.connection.apiKeySecretRef.name", "at least 1 chars long"}},
		{"oversize description", validProject, set("spec.description", long(1025)), []string{"spec.description", "Too long"}},
		{"config that is not an object", validProject, set("spec.config", "resources"), []string{"spec.config", "must be of type object"}},
	}
	rejected := createRejected(t, ns, cases, func(err error) bool { return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) })
	t.Logf("%d invalid objects created, %d rejected at admission with the expected message", len(cases), rejected)
}

// Messages of the rules that fix spec fields once the Talis project exists.
const (
	nameFixed   = "spec.projectName cannot be set, changed or removed once the Talis project has been created"
	configFixed = "spec.config cannot be changed once the Talis project has been created"
)

// createdInTalis records a Talis project ID in a TalisProject's status, as the operator does
// once the project exists, so that the rules for created projects apply. Other kinds are left.
func createdInTalis(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	if u.GetKind() != "TalisProject" {
		return
	}
	u.Object["status"] = obj{"projectID": int64(7)}
	if err := cp.Client.Status().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
}

// TestAdmissionRejectsImmutableEdits changes fields that Talis cannot change after creation.
func TestAdmissionRejectsImmutableEdits(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "immutable")
	if err != nil {
		t.Fatal(err)
	}
	create := func(o obj) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: o}
		u.SetNamespace(ns)
		if err := cp.Client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.Delete(ctx, u) })
		createdInTalis(t, u)
		return u
	}
	named := validProject()
	named["metadata"] = obj{"name": "named"}
	set("spec.projectName", "immutable-named-"+ns)(named)
	set("spec.ownerID", int64(4294967295))(named)
	remote := validProject()
	remote["metadata"] = obj{"name": "remote"}
	set("spec.connection.url", "https://talis-a.example.com")(remote)
	objs := map[string]*unstructured.Unstructured{
		"set": create(validSet()), "project": create(validProject()), "named": create(named), "remote": create(remote),
	}
	cases := []struct {
		name, target string
		mutate       func(obj)
		want         string
	}{
		{"move a set to another project", "set", set("spec.projectRef.name", "other"), "projectRef is immutable: instances cannot move between projects"},
		{"rename a Talis project", "named", set("spec.projectName", "renamed-"+ns), nameFixed},
		{"add a Talis project name", "project", set("spec.projectName", "late-"+ns), nameFixed},
		{"remove a Talis project name", "named", del("spec.projectName"), nameFixed},
		{"change the config", "project", set("spec.config.settings", obj{"team": "b"}), configFixed},
		{"add a config key", "project", set("spec.config.extra", obj{}), configFixed},
		{"remove the config", "project", del("spec.config"), configFixed},
		{"change the owner", "named", set("spec.ownerID", int64(7)), "ownerID is immutable"},
		{"add an owner", "project", set("spec.ownerID", int64(7)), "ownerID cannot be added or removed after creation"},
		{"change the description", "project", set("spec.description", "edited"), "description is immutable: Talis cannot update a project"},
		{"remove the description", "project", del("spec.description"), "description is immutable: Talis cannot update a project"},
		{"move a project to another URL", "remote", set("spec.connection.url", "https://talis-b.example.com"), "connection.url cannot be set, changed or removed"},
		{"remove the URL", "remote", del("spec.connection.url"), "connection.url cannot be set, changed or removed"},
		{"remove the connection", "remote", del("spec.connection"), "connection.url cannot be set, changed or removed"},
		{"add a URL", "project", set("spec.connection.url", "https://talis-b.example.com"), "connection.url cannot be set, changed or removed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := objs[c.target].DeepCopy()
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
				t.Fatal(err)
			}
			c.mutate(u.Object)
			err := cp.Client.Update(ctx, u)
			if err == nil {
				t.Fatalf("accepted; want %q", c.want)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an Invalid error with %q, got %v", c.want, err)
			}
		})
	}
	// Fields that may change still can: the edits above were refused for the rule, not the object.
	u := objs["set"]
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	set("spec.replicas", int64(3))(u.Object)
	set("spec.template.size", "s-2vcpu-2gb")(u.Object)
	if err := cp.Client.Update(ctx, u); err != nil {
		t.Fatalf("a valid edit was refused: %v", err)
	}
}

// TestDanglingReferencesAreReported creates objects that admission cannot check (they name other
// objects) and requires the manager to say what is missing in conditions and events.
func TestDanglingReferencesAreReported(t *testing.T) {
	_, talisURL := fastTalis(t)
	ns, err := cp.NewNamespace(ctx, "dangling")
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(talisURL, "--watch-namespaces", ns))
	orphan := harness.Set(ns, "orphan", "nope", 1)
	noSecret := harness.Project(ns, "no-secret")
	noSecret.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "missing"}}
	wrongKey := harness.Project(ns, "wrong-key")
	wrongKey.Spec.Connection = &infrav1.TalisConnection{APIKeySecretRef: &infrav1.SecretKeyReference{Name: "creds", Key: "token"}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds", Labels: map[string]string{infrav1.CredentialsLabel: "true"}}, StringData: map[string]string{"apiKey": "x"}}
	waiting := harness.Set(ns, "waiting", "no-secret", 1)
	for _, o := range []client.Object{orphan, noSecret, wrongKey, secret, waiting} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(o client.Object, conds func() []metav1.Condition, reason, msg string) {
		t.Helper()
		harness.Eventually(t, 90*time.Second, o.GetName()+" reports "+reason, func() error {
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			c := meta.FindStatusCondition(conds(), infrav1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason || !strings.Contains(c.Message, msg) {
				b, _ := json.Marshal(c)
				return fmt.Errorf("Ready is %s", b)
			}
			return nil
		})
	}
	expect(orphan, func() []metav1.Condition { return orphan.Status.Conditions }, infrav1.ReasonProjectNotFound, `TalisProject "nope" not found`)
	expect(noSecret, func() []metav1.Condition { return noSecret.Status.Conditions }, infrav1.ReasonCredentialsUnavailable, `Secret "missing" with the Talis API key not found`)
	expect(wrongKey, func() []metav1.Condition { return wrongKey.Status.Conditions }, infrav1.ReasonCredentialsUnavailable, `Secret "creds" has no key "token"`)
	expect(waiting, func() []metav1.Condition { return waiting.Status.Conditions }, infrav1.ReasonCredentialsUnavailable, `TalisProject "no-secret": Secret "missing" with the Talis API key not found`)
	harness.Eventually(t, 60*time.Second, "events name the missing objects", func() error {
		evs, err := harness.Events(ctx, cp.Client, ns)
		if err != nil {
			return err
		}
		all := harness.JoinEvents(evs)
		for _, w := range []string{`TalisProject "nope" not found`, `Secret "missing" with the Talis API key not found`} {
			if !strings.Contains(all, w) {
				return fmt.Errorf("no event says %q; events:\n%s", w, all)
			}
		}
		return nil
	})
	// Deleting objects whose references never resolved must not hang on their finalizers.
	for _, o := range []client.Object{orphan, waiting, noSecret, wrongKey} {
		if err := cp.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []client.Object{orphan, waiting, noSecret, wrongKey} {
		harness.Eventually(t, 90*time.Second, o.GetName()+" deleted", func() error { return harness.Gone(ctx, cp.Client, o) })
	}
}
