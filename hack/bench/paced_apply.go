package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// pacedApplyLatency applies probe sets one at a time to the running manager, whose sets are
// all Ready: what a user applying a set to a live operator sees, without a burst's queueing.
func (b *bench) pacedApplyLatency(ctx context.Context, ns string, emu *talisServer) (*Latency, error) {
	c := b.c
	start := make([]time.Time, c.probeSets)
	for i := range c.probeSets {
		s := newSet(ns, 0, c.replicas, c.setsPerProject)
		s.Name = fmt.Sprintf("probe%03d", i)
		start[i] = time.Now()
		if err := b.k8s.Create(ctx, s); err != nil {
			return nil, fmt.Errorf("creating probe set: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.probeInterval):
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		first := firstCreates(emu)
		var lat []float64
		for i := range c.probeSets {
			if f, ok := first[setIdentity(ns, fmt.Sprintf("probe%03d", i))]; ok {
				lat = append(lat, f.Sub(start[i]).Seconds()*1000)
			}
		}
		if len(lat) == c.probeSets || time.Now().After(deadline) {
			l := latencyOf(lat)
			logf("paced apply → first create (%d sets, one per %s): p50 %.0fms p99 %.0fms", l.Sets, c.probeInterval, l.P50ms, l.P99ms)
			return &l, b.waitProbesReady(ctx, ns) // so that the steady-state window starts steady
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *bench) waitProbesReady(ctx context.Context, ns string) error {
	deadline := time.Now().Add(b.c.phaseTimeout)
	for {
		var list infrav1.TalisInstanceSetList
		if err := b.k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			s := &list.Items[i]
			c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady)
			if strings.HasPrefix(s.Name, "probe") && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation {
				ready++
			}
		}
		if ready == b.c.probeSets {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d/%d probe sets Ready after %s", ready, b.c.probeSets, b.c.phaseTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
