package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

type walkthrough struct {
	c      client.Client
	cfg    *rest.Config
	emu    *emulator.Server
	scheme *runtime.Scheme
}

// demoNamespace holds the walk-through's objects. Talis keeps a deleted project's name reserved
// forever, so the walk-through stays out of the namespace `kubectl apply -k config/samples/` uses:
// the command the kept demo prints then makes a project whose name was never used.
const demoNamespace = "talis-demo"

var (
	setKey     = client.ObjectKey{Namespace: demoNamespace, Name: "web"}
	outputsKey = client.ObjectKey{Namespace: demoNamespace, Name: "web-hosts"}
)

func (w *walkthrough) run(ctx context.Context) error {
	step("kubectl create namespace " + demoNamespace + " && kubectl apply -n " + demoNamespace + " -k config/samples/  (a TalisProject and a TalisInstanceSet of 3)")
	if err := w.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}); err != nil {
		return err
	}
	for _, f := range []string{"config/samples/infra_v1alpha1_talisproject.yaml", "config/samples/infra_v1alpha1_talisinstanceset.yaml"} {
		if err := w.apply(ctx, f); err != nil {
			return err
		}
	}
	if err := w.watchUntil(ctx, 3, "all 3 ready"); err != nil {
		return err
	}

	step(`kubectl -n ` + demoNamespace + ` get configmap web-hosts -o jsonpath='{.data.inventory\.yaml}'  (the set's spec.outputs)`)
	if err := w.showOutputs(ctx, 3); err != nil {
		return err
	}

	step("kubectl -n " + demoNamespace + " scale talisinstanceset web --replicas=5")
	if err := w.mutate(ctx, func(s *infrav1.TalisInstanceSet) { s.Spec.Replicas = ptr.To[int32](5) }); err != nil {
		return err
	}
	if err := w.watchUntil(ctx, 5, "5 ready"); err != nil {
		return err
	}

	step("Change the template (size s-2vcpu-2gb): rolling replacement, maxSurge 1, maxUnavailable 0")
	if err := w.mutate(ctx, func(s *infrav1.TalisInstanceSet) { s.Spec.Template.Size = "s-2vcpu-2gb" }); err != nil {
		return err
	}
	if err := w.watchUntil(ctx, 5, "5 ready on the new template"); err != nil {
		return err
	}

	step("kubectl -n " + demoNamespace + " delete talisinstanceset web && kubectl -n " + demoNamespace + " delete talisproject demo")
	var s infrav1.TalisInstanceSet
	if err := w.c.Get(ctx, setKey, &s); err != nil {
		return err
	}
	if err := w.c.Delete(ctx, &s); err != nil {
		return err
	}
	p := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: demoNamespace, Name: "demo"}}
	if err := w.c.Delete(ctx, p); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		errS := w.c.Get(ctx, setKey, &s)
		errP := w.c.Get(ctx, client.ObjectKeyFromObject(p), p)
		if client.IgnoreNotFound(errS) == nil && errS != nil && errP != nil && client.IgnoreNotFound(errP) == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("objects still present after 2 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}

	// A cluster's garbage collector deletes the outputs ConfigMap with its set (an owner reference);
	// this control plane runs no controller-manager, so the walk-through deletes it as the GC would.
	step("kubectl -n " + demoNamespace + " delete configmap web-hosts  (a cluster's garbage collector does this; the demo's control plane has none)")
	if err := w.c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: outputsKey.Namespace, Name: outputsKey.Name}}); client.IgnoreNotFound(err) != nil {
		return err
	}

	step("What is left in Talis (the emulator's ledger of every instance ever created)")
	live, total := 0, 0
	for _, e := range w.emu.Ledger() {
		total++
		if e.Status != "terminated" {
			live++
		}
	}
	fmt.Printf("  instances created: %d, still running: %d\n", total, live)
	if live != 0 {
		return fmt.Errorf("%d instance(s) left running", live)
	}
	if total != 10 {
		return fmt.Errorf("expected 10 instances created (3 + 2 scale-up + 5 replacements), got %d", total)
	}
	fmt.Println("  nothing leaked, nothing created twice")
	return nil
}

func (w *walkthrough) apply(ctx context.Context, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	obj, _, err := serializer.NewCodecFactory(w.scheme).UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	o := obj.(client.Object)
	o.SetNamespace(demoNamespace)
	return w.c.Create(ctx, o)
}

func (w *walkthrough) mutate(ctx context.Context, f func(*infrav1.TalisInstanceSet)) error {
	var s infrav1.TalisInstanceSet
	if err := w.c.Get(ctx, setKey, &s); err != nil {
		return err
	}
	patch := client.MergeFrom(s.DeepCopy())
	f(&s)
	return w.c.Patch(ctx, &s, patch)
}

// watchUntil prints the set as `kubectl get -o wide` would, and each instance, whenever they
// change, until the set is Ready with n instances.
func (w *walkthrough) watchUntil(ctx context.Context, n int32, what string) error {
	last := ""
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var s infrav1.TalisInstanceSet
		if err := w.c.Get(ctx, setKey, &s); err != nil {
			return err
		}
		view := render(&s)
		if view != last {
			fmt.Printf("  [%s]\n%s", time.Now().Format("15:04:05.0"), view)
			last = view
		}
		c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
		if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation && s.Status.ReadyReplicas == n {
			fmt.Printf("  -> %s\n", what)
			return w.printTable(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("set not ready with %d instances after 2 minutes", n)
}

func render(s *infrav1.TalisInstanceSet) string {
	var b strings.Builder
	reason := ""
	if c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady); c != nil {
		reason = c.Reason
	}
	fmt.Fprintf(&b, "    set web: desired=%d ready=%d updated=%d status=%s\n", ptr.Deref(s.Spec.Replicas, 0), s.Status.ReadyReplicas, s.Status.UpdatedReplicas, reason)
	for _, in := range s.Status.Instances {
		state := in.State
		if in.TerminatingSince != nil {
			state += " (terminating)"
		}
		fmt.Fprintf(&b, "      #%-3d %-14s %-24s %-15s tpl=%s\n", in.ID, in.Name, state, in.PublicIP, in.TemplateHash)
	}
	return b.String()
}

// showOutputs waits until the set's outputs ConfigMap lists n IPs, and prints its inventory.
func (w *walkthrough) showOutputs(ctx context.Context, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cm corev1.ConfigMap
		err := w.c.Get(ctx, outputsKey, &cm)
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		if err == nil && strings.Count(cm.Data[infrav1.OutputsKeyIPs], "\n") == n {
			fmt.Print(indent(cm.Data[infrav1.OutputsKeyAnsible], "    "))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ConfigMap web-hosts does not list %d IPs after 30 seconds", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// printTable asks the apiserver for the same Table kubectl prints, printer columns and all.
func (w *walkthrough) printTable(ctx context.Context) error {
	cfg := rest.CopyConfig(w.cfg)
	cfg.GroupVersion = &infrav1.GroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(w.scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return err
	}
	var table metav1.Table
	raw, err := rc.Get().Namespace(demoNamespace).Resource("talisinstancesets").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		return err
	}
	if err := jsonUnmarshal(raw, &table); err != nil {
		return err
	}
	fmt.Println("  $ kubectl -n " + demoNamespace + " get talisinstancesets -o wide")
	fmt.Print(formatTable(&table))
	return nil
}
