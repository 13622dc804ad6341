package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

// noTaskCap turns the emulator's dispatch cap off (emulator.Config.TasksPerSecond < 0).
const noTaskCap = -1

// newEmulator starts an emulator with the bench's delays, dispatching at most tasksPerSecond
// tasks per second per priority (noTaskCap: as fast as the delays allow).
func (b *bench) newEmulator(tasksPerSecond int) (*talisServer, string, error) {
	emu := emulator.New(emulator.Config{TasksPerSecond: tasksPerSecond, Delays: emulator.Delays{
		Pickup: b.c.pickup, Create: b.c.createDelay, Ready: b.c.readyDelay,
		Provision: b.c.readyDelay, Terminate: 500 * time.Millisecond}})
	ts, err := startTalisServer(emu)
	if err != nil {
		emu.Close()
		return nil, "", err
	}
	return ts, ts.URL(), nil
}

func projectsFor(n, perProject int) int { return (n + perProject - 1) / perProject }

func setName(i int) string     { return fmt.Sprintf("s%05d", i) }
func projectName(i int) string { return fmt.Sprintf("p%03d", i) }

// benchCluster is the manager's --cluster-id in benchmarks.
const benchCluster = "bench"

// setIdentity is the tio-set tag of a bench set, from the harness's own copy of the tag scheme.
func setIdentity(namespace, name string) string {
	return harness.SetIdentityIn(benchCluster, namespace, name)
}

func newSet(ns string, i, replicas, perProject int) *infrav1.TalisInstanceSet {
	return &infrav1.TalisInstanceSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: setName(i)},
		Spec: infrav1.TalisInstanceSetSpec{
			ProjectRef: infrav1.LocalObjectReference{Name: projectName(i / perProject)},
			Replicas:   ptr.To(int32(replicas)),
			Template: infrav1.InstanceTemplate{Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb",
				Image: "ubuntu-22-04-x64", Tags: []string{"team:bench"},
				Volumes: []infrav1.Volume{{Name: "data", SizeGB: 10}}},
		}}
}

// applySets creates sets 0..n-1 from applyWorkers goroutines and says when each request left.
func (b *bench) applySets(ctx context.Context, ns string, n int) ([]time.Time, error) {
	c := b.c
	applyStart := make([]time.Time, n)
	err := forEach(n, c.applyWorkers, func(i int) error {
		s := newSet(ns, i, c.replicas, c.setsPerProject)
		applyStart[i] = time.Now()
		return b.k8s.Create(ctx, s)
	})
	if err != nil {
		return nil, fmt.Errorf("creating sets: %w", err)
	}
	return applyStart, nil
}

func (b *bench) createProjects(ctx context.Context, ns string, projects int) error {
	for i := range projects {
		p := &infrav1.TalisProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: projectName(i)},
			Spec: infrav1.TalisProjectSpec{Description: "benchmark project"}}
		if err := b.k8s.Create(ctx, p); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list infrav1.TalisProjectList
		if err := b.k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ok := 0
		for _, p := range list.Items {
			if p.Status.ProjectID != 0 {
				ok++
			}
		}
		if ok == projects {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d/%d projects created in Talis after 2 minutes", ok, projects)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
