package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// crdSchema reads the openAPIV3Schema of one installed CRD file.
func crdSchema(t *testing.T, file string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cp.CRDDir(), file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
}

// schemaBounds answers "how large may this field be" from a CRD schema; where the schema sets no
// bound, the fallback is what the operator or the spec can put there.
type schemaBounds struct {
	t    *testing.T
	root *apiextensionsv1.JSONSchemaProps
}

func (b schemaBounds) at(path string) *apiextensionsv1.JSONSchemaProps {
	s := b.root
	for _, p := range strings.Split(path, ".") {
		if p == "[]" {
			s = s.Items.Schema
			continue
		}
		next, ok := s.Properties[p]
		if !ok {
			b.t.Fatalf("the CRD has no field %s", path)
		}
		s = &next
	}
	return s
}

func (b schemaBounds) maxLen(path string, fallback int) int {
	if s := b.at(path); s.MaxLength != nil {
		return int(*s.MaxLength)
	}
	return fallback
}

func (b schemaBounds) maxItems(path string, fallback int) int {
	if s := b.at(path); s.MaxItems != nil {
		return int(*s.MaxItems)
	}
	return fallback
}

func (b schemaBounds) maximum(path string) int {
	s := b.at(path)
	if s.Maximum == nil {
		b.t.Fatalf("%s has no maximum", path)
	}
	return int(*s.Maximum)
}

// celSize finds a rule "size(<x>) <= N" on path and returns N, or fallback.
func (b schemaBounds) celSize(path, subject string, fallback int) int {
	for _, v := range b.at(path).XValidations {
		var n int
		if i := strings.Index(v.Rule, "size("+subject+") <= "); i >= 0 {
			if _, err := fmt.Sscan(v.Rule[i+len("size("+subject+") <= "):], &n); err == nil {
				return n
			}
		}
	}
	return fallback
}

// worstCaseSet is a TalisInstanceSet with every field the CRD bounds at its bound: the most
// status entries, each string at its longest, every number at its widest, and metadata with the
// 256 KiB of annotations the API server allows. Fields without a bound in the schema get what
// the operator or a spec can write there (so the test also measures a CRD that lacks bounds).
func worstCaseSet(t *testing.T, ns string) (*infrav1.TalisInstanceSet, infrav1.TalisInstanceSetStatus) {
	b := schemaBounds{t: t, root: crdSchema(t, "infra.talis.io_talisinstancesets.yaml")}
	str := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	const maxInt64 = int64(1<<63 - 1)
	tmpl := "spec.template."
	region := str('r', b.maxLen(tmpl+"region", 64))
	s := &infrav1.TalisInstanceSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: str('w', 253),
			Annotations: map[string]string{"a": str('a', 256<<10-1)}, Finalizers: []string{infrav1.Finalizer}},
		Spec: infrav1.TalisInstanceSetSpec{
			ProjectRef:          infrav1.LocalObjectReference{Name: str('p', b.maxLen("spec.projectRef.name", 253))},
			Replicas:            ptr.To(int32(b.maximum("spec.replicas"))),
			ProvisioningTimeout: &metav1.Duration{}, // set below: a duration of the longest text allowed
			DeletionPolicy:      infrav1.DeletionPolicyOrphan,
			Strategy: infrav1.InstanceSetStrategy{Type: infrav1.RollingUpdateStrategy,
				RollingUpdate: &infrav1.RollingUpdate{MaxSurge: 500, MaxUnavailable: int32(b.maximum("spec.strategy.rollingUpdate.maxUnavailable"))}},
			Template: infrav1.InstanceTemplate{
				Provider: "digitalocean-mock", Region: region, Size: str('s', b.maxLen(tmpl+"size", 64)),
				Image: str('i', b.maxLen(tmpl+"image", 255)),
				CPU:   ptr.To(int32(b.maximum(tmpl + "cpu"))), Memory: ptr.To(int32(b.maximum(tmpl + "memory"))),
				Provision: true, ExecutePayload: true,
				PayloadPath: "/" + str('p', b.maxLen(tmpl+"payloadPath", 4096)-1),
				SSHKeyType:  str('k', b.maxLen(tmpl+"sshKeyType", 64)),
				SSHKeyPath:  "/" + str('s', b.maxLen(tmpl+"sshKeyPath", 4096)-1),
			},
		},
	}
	for i := range b.maxItems(tmpl+"tags", 32) {
		s.Spec.Template.Tags = append(s.Spec.Template.Tags, fmt.Sprintf("%03d", i)+str('t', b.maxLen(tmpl+"tags.[]", 128)-3))
	}
	for range b.maxItems(tmpl+"volumes", 16) {
		v := tmpl + "volumes.[]."
		s.Spec.Template.Volumes = append(s.Spec.Template.Volumes, infrav1.Volume{
			Name: str('v', b.maxLen(v+"name", 64)), SizeGB: int32(b.maximum(v + "sizeGB")), Region: region,
			Filesystem: str('f', b.maxLen(v+"filesystem", 64)), MountPoint: "/" + str('m', b.maxLen(v+"mountPoint", 4096)-1)})
	}
	// Leading zeros keep the duration valid at any length.
	d := b.celSize("spec.provisioningTimeout", "self", 32)
	raw, _ := json.Marshal(str('0', d-2) + "1h")
	if err := json.Unmarshal(raw, s.Spec.ProvisioningTimeout); err != nil {
		t.Fatal(err)
	}

	now := metav1.NewTime(time.Now().Truncate(time.Second))
	hash := func(path string) string { return str('h', b.maxLen(path, 10)) }
	in := "status.instances.[]."
	st := infrav1.TalisInstanceSetStatus{
		Replicas: 1<<31 - 1, ReadyReplicas: 1<<31 - 1, UpdatedReplicas: 1<<31 - 1,
		TemplateHash: hash("status.templateHash"), Identity: strings.Repeat("a", 20),
		ProjectName:       str('p', b.maxLen("status.projectName", 317)),
		LastCreateAttempt: maxInt64, ObservedGeneration: maxInt64,
		PendingCreate: &infrav1.PendingCreate{Attempt: maxInt64, Count: 1<<31 - 1,
			TemplateHash: hash("status.pendingCreate.templateHash"), RequestedAt: now},
	}
	// Without maxItems, a roll at the spec's maxima is the bound: replicas old plus replicas+maxSurge new.
	entries := b.maxItems("status.instances", b.maximum("spec.replicas")+b.maximum("spec.strategy.rollingUpdate.maxSurge"))
	for i := range entries {
		st.Instances = append(st.Instances, infrav1.TalisInstance{
			ID: maxInt64 - int64(i), Name: str('n', b.maxLen(in+"name", 253+len("-a")+19+len("-1000"))),
			State: str('s', b.maxLen(in+"state", len("provisioning"))), PublicIP: str('1', b.maxLen(in+"publicIP", 45)),
			ProviderInstanceID: maxInt64, TemplateHash: hash(in + "templateHash"), CreateAttempt: maxInt64,
			CreatedAt: &now, ReadyAt: &now, TerminatingSince: &now, TerminateRequestedAt: &now, TerminatedAt: &now})
	}
	for range b.maxItems("status.publicIPs", entries) {
		st.PublicIPs = append(st.PublicIPs, str('1', b.maxLen("status.publicIPs.[]", 45)))
	}
	c := "status.conditions.[]."
	msg := b.celSize("status.conditions", "c.message", b.maxLen(c+"message", 32768))
	for i := range b.maxItems("status.conditions", 5) {
		st.Conditions = append(st.Conditions, metav1.Condition{
			Type: fmt.Sprintf("%d", i) + str('T', b.maxLen(c+"type", 316)-1), Status: metav1.ConditionUnknown,
			ObservedGeneration: maxInt64, LastTransitionTime: now,
			Reason: str('R', b.maxLen(c+"reason", 1024)), Message: str('m', msg)})
	}
	return s, st
}

func objectSize(t *testing.T, o client.Object) int {
	t.Helper()
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return len(raw)
}

// largestObject finds, by bisection, the largest object the API server stores (as the JSON it
// returns): a TalisProject padded through spec.config, which the schema leaves open.
func largestObject(t *testing.T, ns string) (int, error) {
	t.Helper()
	attempt := 0
	fits := func(pad int) (int, error) {
		attempt++
		p := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pad-%d", attempt)}}
		p.Spec.Config = &apiextensionsv1.JSON{Raw: []byte(`{"resources":{},"settings":{},"pad":"` + strings.Repeat("x", pad) + `"}`)}
		if err := cp.Client.Create(ctx, p); err != nil {
			return 0, err
		}
		defer func() { _ = cp.Client.Delete(ctx, p) }()
		return objectSize(t, p), nil
	}
	lo, hi := 0, 4<<20 // lo fits, hi does not
	largest, _ := fits(lo)
	var refusal error
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if n, err := fits(mid); err == nil {
			lo, largest = mid, n
		} else {
			hi, refusal = mid, err
		}
	}
	return largest, refusal
}

// TestLargestStatusFitsInOneObject writes the largest status the CRD permits and requires the API
// server to store it with a fifth of the largest object it accepts to spare. A status write the
// protocol depends on (the intent before a create) must never be refused for its size.
func TestLargestStatusFitsInOneObject(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "bounds")
	if err != nil {
		t.Fatal(err)
	}
	ceiling, refusal := largestObject(t, ns)
	t.Logf("largest object stored: %d bytes (%.2f MiB); one byte more: %v", ceiling, float64(ceiling)/(1<<20), firstLine(refusal))

	s, st := worstCaseSet(t, ns)
	if err := cp.Client.Create(ctx, s); err != nil {
		t.Fatalf("the largest spec was refused: %v", firstLine(err))
	}
	t.Cleanup(func() {
		_ = cp.Client.Patch(ctx, s, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
		_ = cp.Client.Delete(ctx, s)
	})
	s.Status = st
	raw, _ := json.Marshal(s)
	t.Logf("largest status: %d instances, %d conditions; object %d bytes (%.0f%% of the largest stored)",
		len(st.Instances), len(st.Conditions), len(raw), 100*float64(len(raw))/float64(ceiling))
	if err := cp.Client.Status().Update(ctx, s); err != nil {
		t.Fatalf("the largest status the CRD permits was refused: %v", firstLine(err))
	}
	stored := objectSize(t, s)
	if len(s.Status.Instances) != len(st.Instances) {
		t.Fatalf("stored %d instances, wrote %d", len(s.Status.Instances), len(st.Instances))
	}
	// The measured object already carries the most annotations the API server allows; what is
	// left unbounded (labels, finalizers) needs far less than 15%.
	if spare := ceiling - stored; spare < ceiling*3/20 {
		t.Errorf("stored %d bytes: only %d bytes (%.0f%%) below the largest object stored; the bounds leave too little margin",
			stored, spare, 100*float64(spare)/float64(ceiling))
	}
	t.Logf("stored %d bytes, %d (%.0f%%) to spare", stored, ceiling-stored, 100*float64(ceiling-stored)/float64(ceiling))
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// TestAdmissionRejectsSetsPastTheBounds sends specs past the size bounds, through create and
// through the scale subresource that kubectl scale and autoscalers use.
func TestAdmissionRejectsSetsPastTheBounds(t *testing.T) {
	ns, err := cp.NewNamespace(ctx, "bounds-admission")
	if err != nil {
		t.Fatal(err)
	}
	const sum = "replicas + strategy.rollingUpdate.maxSurge must be at most 1500"
	surge := func(n int64) func(obj) {
		return set("spec.strategy", obj{"type": "RollingUpdate", "rollingUpdate": obj{"maxSurge": n}})
	}
	cases := []admissionCase{
		{"set without spec", validSet, del("spec"), []string{"spec: Required value"}},
		{"project without spec", validProject, del("spec"), []string{"spec: Required value"}},
		{"maxSurge above 1000", validSet, surge(1001), []string{"spec.strategy.rollingUpdate.maxSurge", "less than or equal to 1000"}},
		{"replicas + maxSurge above 1500", validSet, all(set("spec.replicas", int64(1000)), surge(501)), []string{sum}},
		{"oversize filesystem", validSet, set("spec.template.volumes.0.filesystem", strings.Repeat("f", 65)), []string{"filesystem", "Too long"}},
		{"oversize provisioningTimeout", validSet, set("spec.provisioningTimeout", strings.Repeat("0", 31)+"1h"), []string{"provisioningTimeout must be at most 32 characters"}},
	}
	createRejected(t, ns, cases, apierrors.IsInvalid)
	t.Run("scale past the sum", func(t *testing.T) {
		o := validSet()
		surge(600)(o)
		u := &unstructured.Unstructured{Object: o}
		u.SetNamespace(ns)
		if err := cp.Client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		typed := &infrav1.TalisInstanceSet{}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(u), typed); err != nil {
			t.Fatal(err)
		}
		scale := &autoscalingv1.Scale{}
		if err := cp.Client.SubResource("scale").Get(ctx, typed, scale); err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = 901
		err := cp.Client.SubResource("scale").Update(ctx, typed, client.WithSubResourceBody(scale))
		if err == nil || !strings.Contains(err.Error(), sum) {
			t.Fatalf("want a refusal with %q, got %v", sum, err)
		}
		scale.Spec.Replicas = 900
		if err := cp.Client.SubResource("scale").Update(ctx, typed, client.WithSubResourceBody(scale)); err != nil {
			t.Fatalf("scale to the sum refused: %v", err)
		}
	})
}
