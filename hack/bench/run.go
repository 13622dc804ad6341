package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/talis-operator/talis-operator/test/harness"
)

// bench is what every phase shares: one control plane, one admin client.
type bench struct {
	c          *config
	cfg        *rest.Config
	k8s        client.WithWatch
	kube       kubernetes.Interface
	kubeconfig string
	dir        string
	res        *Results
}

func run(ctx context.Context, c *config) error {
	res := &Results{Generated: time.Now().UTC(), Command: commandLine(), Machine: describeMachine(),
		Settings: settingsOf(c)}
	res.LoadBefore = loadAvg()
	logf("machine: %s; load before: %s", res.Machine.Summary(), res.LoadBefore)

	dir, err := os.MkdirTemp("", "talis-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	logf("starting kube-apiserver and etcd (envtest binaries)")
	cp, err := harness.StartControlPlane()
	if err != nil {
		return fmt.Errorf("starting the control plane (run via `make bench`, which builds it): %w", err)
	}
	defer func() { _ = cp.Stop() }()
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = -1, 0 // the harness must never be the bottleneck
	// The manager runs with full rights, as `make run` would: the bench measures it, not its RBAC.
	kubeconfig, err := cp.AdminKubeconfig("bench")
	if err != nil {
		return err
	}
	k8s, err := client.NewWithWatch(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b := &bench{c: c, cfg: cfg, k8s: k8s, kube: kube, kubeconfig: kubeconfig, dir: dir, res: res}

	uncapped := runOpts{baseline: true, floor: c.floor, probes: c.probeSets > 0, tasksPerSecond: noTaskCap}
	for _, n := range c.sizes {
		name := fmt.Sprintf("conv-%d", n)
		conv, emu, err := b.convergence(ctx, name, n, uncapped)
		if err != nil {
			return fmt.Errorf("convergence N=%d: %w", n, err)
		}
		res.Convergence = append(res.Convergence, conv)
		if contains(c.steadySizes, n) {
			if err := b.steadyPhases(ctx, name, n, emu); err != nil {
				emu.Close()
				return err
			}
		}
		_ = emu.Close()
		_ = writeOutputs(c, res) // partial results survive a later failure
	}
	// What a real Talis does: its worker starts at most 10 tasks per second per priority.
	for _, n := range c.cappedSizes {
		conv, emu, err := b.convergence(ctx, fmt.Sprintf("capped-%d", n), n, runOpts{baseline: true, tasksPerSecond: c.tasksPerSecond})
		if err != nil {
			return fmt.Errorf("capped convergence N=%d: %w", n, err)
		}
		_ = emu.Close()
		res.Capped = append(res.Capped, conv)
		_ = writeOutputs(c, res)
	}
	if c.scale > 0 {
		sc, emu, err := b.convergence(ctx, fmt.Sprintf("scale-%d", c.scale), c.scale,
			runOpts{baseline: c.scaleBaseline, floor: c.floor, probes: c.probeSets > 0, tasksPerSecond: noTaskCap})
		if err != nil {
			return fmt.Errorf("scale N=%d: %w", c.scale, err)
		}
		emu.Close()
		res.Scale = &sc
		if c.scaleMemLimit != "" {
			ml, emu, err := b.convergence(ctx, fmt.Sprintf("scale-%d-gomemlimit", c.scale), c.scale,
				runOpts{tasksPerSecond: noTaskCap, managerEnv: []string{"GOMEMLIMIT=" + c.scaleMemLimit}})
			if err != nil {
				return fmt.Errorf("scale N=%d with GOMEMLIMIT=%s: %w", c.scale, c.scaleMemLimit, err)
			}
			emu.Close()
			res.ScaleMemoryLimited = &MemoryLimitedRun{GoMemLimit: c.scaleMemLimit, Convergence: ml}
		}
		_ = writeOutputs(c, res)
	}
	if len(c.foreignCounts) > 0 && c.foreignSets > 0 {
		if err := b.foreignPhase(ctx); err != nil {
			return err
		}
	}
	res.LoadAfter = loadAvg()
	res.Finished = time.Now().UTC()
	logf("load after: %s", res.LoadAfter)
	return writeOutputs(c, res)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
