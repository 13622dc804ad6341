package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// Project returns a TalisProject with a description.
func Project(ns, name string) *infrav1.TalisProject {
	return &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: infrav1.TalisProjectSpec{Description: "test project"}}
}

// Set returns a TalisInstanceSet of n instances in project.
func Set(ns, name, project string, n int32) *infrav1.TalisInstanceSet {
	return &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: infrav1.TalisInstanceSetSpec{
			ProjectRef: infrav1.LocalObjectReference{Name: project},
			Replicas:   ptr.To(n),
			Template: infrav1.InstanceTemplate{Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb",
				Image: "ubuntu-22-04-x64", Tags: []string{"team:test"},
				Volumes: []infrav1.Volume{{Name: "data", SizeGB: 10}}},
		}}
}

// Eventually calls f until it returns nil, every interval, for at most timeout; then fails the
// test with f's last error.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := Wait(timeout, 250*time.Millisecond, f); err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
}

// Wait is Eventually returning the error.
func Wait(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %v", ErrTimeout, err)
		}
		time.Sleep(interval)
	}
}

// SetReady says why the set is not Ready with n ready instances for its current generation.
func SetReady(ctx context.Context, c client.Client, key SetKey, n int) error {
	var s infrav1.TalisInstanceSet
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, &s); err != nil {
		return err
	}
	cond := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
	entries := 0
	for _, in := range s.Status.Instances {
		if in.TerminatedAt == nil { // terminated in Talis, only watched in case its create undoes it
			entries++
		}
	}
	switch {
	case cond == nil:
		return fmt.Errorf("%s: no Ready condition", key)
	case cond.Status != metav1.ConditionTrue || cond.ObservedGeneration != s.Generation:
		return fmt.Errorf("%s: Ready=%s (%s: %s) at generation %d of %d", key, cond.Status, cond.Reason, cond.Message, cond.ObservedGeneration, s.Generation)
	case int(s.Status.ReadyReplicas) != n || int(s.Status.Replicas) != n || int(s.Status.UpdatedReplicas) != n || entries != n:
		return fmt.Errorf("%s: %d ready, %d replicas, %d updated, %d in status, want %d", key, s.Status.ReadyReplicas, s.Status.Replicas,
			s.Status.UpdatedReplicas, entries, n)
	case s.Status.PendingCreate != nil:
		return fmt.Errorf("%s: create attempt %d still pending", key, s.Status.PendingCreate.Attempt)
	}
	return nil
}

// ProjectReady says why the project has no Talis ID yet or is not Ready.
func ProjectReady(ctx context.Context, c client.Client, ns, name string) error {
	var p infrav1.TalisProject
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		return err
	}
	cond := meta.FindStatusCondition(p.Status.Conditions, infrav1.ConditionReady)
	if p.Status.ProjectID == 0 || cond == nil || cond.Status != metav1.ConditionTrue {
		return fmt.Errorf("project %s/%s not ready: id %d, %+v", ns, name, p.Status.ProjectID, cond)
	}
	return nil
}

// Gone says whether the object no longer exists.
func Gone(ctx context.Context, c client.Client, obj client.Object) error {
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%s %s/%s still exists (deleting since %v, finalizers %v)", obj.GetObjectKind().GroupVersionKind().Kind,
		obj.GetNamespace(), obj.GetName(), obj.GetDeletionTimestamp(), obj.GetFinalizers())
}

// Event is an event as a user reads it.
type Event struct {
	Object, Type, Reason, Note string
	// Time is when it was last seen.
	Time time.Time
}

func (e Event) String() string { return e.Object + " " + e.Type + " " + e.Reason + ": " + e.Note }

// Events lists the events (events.k8s.io, which the manager writes) in a namespace ("" for all).
func Events(ctx context.Context, c client.Client, ns string) ([]Event, error) {
	var list eventsv1.EventList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(list.Items))
	for _, e := range list.Items {
		ev := Event{Object: e.Regarding.Kind + "/" + e.Regarding.Name, Type: e.Type, Reason: e.Reason, Note: e.Note, Time: e.EventTime.Time}
		if e.Series != nil && e.Series.LastObservedTime.After(ev.Time) {
			ev.Time = e.Series.LastObservedTime.Time
		}
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// CoreEvents lists core/v1 events (leader election writes those).
func CoreEvents(ctx context.Context, c client.Client, ns string) ([]corev1.Event, error) {
	var list corev1.EventList
	err := c.List(ctx, &list, client.InNamespace(ns))
	return list.Items, err
}

// JoinEvents prints events one per line.
func JoinEvents(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// StuckFinalizers lists Talis objects that still exist anywhere (with their finalizers).
func StuckFinalizers(ctx context.Context, c client.Client, ns string) ([]string, error) {
	var out []string
	var sets infrav1.TalisInstanceSetList
	if err := c.List(ctx, &sets, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, s := range sets.Items {
		out = append(out, fmt.Sprintf("TalisInstanceSet %s/%s finalizers=%v", s.Namespace, s.Name, s.Finalizers))
	}
	var projects infrav1.TalisProjectList
	if err := c.List(ctx, &projects, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, p := range projects.Items {
		out = append(out, fmt.Sprintf("TalisProject %s/%s finalizers=%v", p.Namespace, p.Name, p.Finalizers))
	}
	return out, nil
}

// Patch applies a merge patch computed from mutate to the latest copy of obj.
func Patch[T client.Object](ctx context.Context, c client.Client, obj T, mutate func(T)) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	base := obj.DeepCopyObject().(T)
	mutate(obj)
	return c.Patch(ctx, obj, client.MergeFrom(base))
}
