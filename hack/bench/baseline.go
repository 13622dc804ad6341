package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// baseline is the fastest thing a user could write by hand against the same emulator settings:
// one create call per set (its replicas in one request) from a bounded pool of goroutines, and
// one list call for every instance per poll interval until all are ready. No Kubernetes, no
// status writes, no crash safety.
func (b *bench) baseline(ctx context.Context, name string, n, projects, tasksPerSecond int) (RunResult, error) {
	c := b.c
	var out RunResult
	emu, url, err := b.newEmulator(tasksPerSecond)
	if err != nil {
		return out, err
	}
	defer emu.Close()
	opts := talis.DefaultOptions()
	opts.BaseURL = url
	opts.RateLimit = c.baselineRateLimit
	opts.UserAgent = "talis-bench-baseline"
	cl, err := talis.NewClient(opts)
	if err != nil {
		return out, err
	}
	owner := talis.AdminOwnerID
	projName := func(i int) string { return fmt.Sprintf("bench-%s-base-%s", name, projectName(i)) }
	for i := range projects {
		if _, err := cl.CreateProject(ctx, talis.ProjectCreateParams{Name: projName(i), OwnerID: owner}); err != nil {
			return out, err
		}
	}
	emu.ResetStats()

	const tagPrefix = "bench-set:"
	start := make([]time.Time, n)
	readyAt := make([]time.Time, n)
	remaining := n
	done := make(chan struct{})
	var pollErr atomic.Pointer[error] // the last; errors differ in type, which atomic.Value refuses
	t0 := time.Now()
	go func() { // the poller
		tick := time.NewTicker(c.baselinePoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rows, err := cl.GetInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit})
			if err != nil {
				pollErr.Store(&err)
				continue
			}
			now := time.Now()
			ready := make([]int, n)
			for _, in := range rows {
				if in.Status != talis.InstanceStatusReady {
					continue
				}
				for _, t := range in.Tags {
					if v, ok := strings.CutPrefix(t, tagPrefix); ok {
						if i, err := strconv.Atoi(v); err == nil && i < n {
							ready[i]++
						}
					}
				}
			}
			for i := range n {
				if readyAt[i].IsZero() && ready[i] == c.replicas {
					readyAt[i] = now
					remaining--
				}
			}
			if remaining == 0 {
				close(done)
				return
			}
		}
	}()

	err = forEach(n, c.baselineConcurrency, func(i int) error {
		start[i] = time.Now()
		_, err := cl.CreateInstance(ctx, []talis.InstanceRequest{{
			OwnerID: owner, Provider: "do", Region: "nyc1", Size: "s-1vcpu-1gb", Image: "ubuntu-22-04-x64",
			Tags: []string{tagPrefix + strconv.Itoa(i), "team:bench"}, ProjectName: projName(i / c.setsPerProject),
			Name: setName(i), NumberOfInstances: c.replicas, Volumes: []talis.VolumeConfig{{Name: "data", SizeGB: 10}},
		}})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("creating instances: %w", err)
	}
	out.ApplySeconds = time.Since(t0).Seconds()
	select {
	case <-done:
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(c.phaseTimeout):
		var err error
		if last := pollErr.Load(); last != nil {
			err = *last
		}
		return out, fmt.Errorf("baseline: not all ready after %s (last list error: %v)", c.phaseTimeout, err)
	}
	ttr := make([]float64, n)
	last := t0
	for i := range n {
		ttr[i] = readyAt[i].Sub(start[i]).Seconds()
		if readyAt[i].After(last) {
			last = readyAt[i]
		}
	}
	out.WallSeconds = last.Sub(t0).Seconds()
	out.TTRP50, out.TTRP99, out.TTRMax = pct(ttr, 50), pct(ttr, 99), pct(ttr, 100)
	st := emu.Stats()
	out.setCalls(st.Requests, n)
	out.InstancesCreated = st.InstancesCreated
	logf("baseline: all %d sets ready in %.1fs (p50 %.2fs, p99 %.2fs), %d Talis calls (%.2f per set)",
		n, out.WallSeconds, out.TTRP50, out.TTRP99, out.Calls, out.CallsPerSet)
	return out, nil
}
