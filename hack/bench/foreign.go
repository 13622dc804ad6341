package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// Foreign is the foreign-instances phase: the same N sets converged and held in steady state
// against an endpoint without other rows and against one that already holds many live
// instances of other owners and projects, none tagged by the operator. Every instance list
// the operator makes carries those rows, so what grows with them is bytes, decode work and
// time, not calls.
type Foreign struct {
	Sets             int          `json:"sets"`
	ForeignInstances []int        `json:"foreign_instances"`
	Owners           int          `json:"foreign_owners"`
	Runs             []ForeignRun `json:"runs"` // without foreign rows, then with them
}

type ForeignRun struct {
	ForeignInstances int         `json:"foreign_instances"`
	SeedSeconds      float64     `json:"seed_seconds"`
	Convergence      Convergence `json:"convergence"`
	Steady           Steady      `json:"steady_state"`
}

// Foreign rows: spread over owners and projects as on a shared Talis; one project per
// foreignPerProject instances.
const (
	foreignOwners     = 10
	foreignPerProject = 1000
	foreignOwnerBase  = 1000
)

func (b *bench) foreignPhase(ctx context.Context) error {
	c := b.c
	out := &Foreign{Sets: c.foreignSets, ForeignInstances: c.foreignCounts, Owners: foreignOwners}
	for _, count := range append([]int{0}, c.foreignCounts...) {
		name := fmt.Sprintf("foreign-%d", count)
		// Sets that never become Ready are a result here, not a failure of the bench.
		conv, emu, err := b.convergence(ctx, name, c.foreignSets,
			runOpts{tasksPerSecond: noTaskCap, foreign: count, timeout: c.foreignTimeout, tolerateTimeout: true})
		if err != nil {
			return fmt.Errorf("foreign instances %d: %w", count, err)
		}
		// No outside terminate: a set that is not Ready could not be timed back to Ready.
		st, err := b.steady(ctx, name, c.foreignSets, conv.Projects, emu, true, "")
		emu.Close()
		if err != nil {
			return fmt.Errorf("foreign instances %d, steady state: %w", count, err)
		}
		out.Runs = append(out.Runs, ForeignRun{ForeignInstances: count, SeedSeconds: conv.SeedSeconds, Convergence: conv, Steady: st})
		b.res.Foreign = out
		_ = writeOutputs(c, b.res)
	}
	return nil
}

// seedForeign fills an emulator with count ready instances the operator does not own: other
// owners, their own projects (created over the API), no tio-set tag. Rows go straight into the
// emulator's store (SeedReadyInstances): 50,000 HTTP creates and lifecycles would take minutes.
func seedForeign(ctx context.Context, emu *talisServer, count int) (time.Duration, error) {
	t0 := time.Now()
	opts := talis.DefaultOptions()
	opts.BaseURL = emu.URL()
	opts.UserAgent = "talis-bench-seed"
	cl, err := talis.NewClient(opts)
	if err != nil {
		return 0, err
	}
	for p := 0; count > 0; p++ {
		k := min(count, foreignPerProject)
		owner := uint(foreignOwnerBase + p%foreignOwners)
		name := fmt.Sprintf("other-team-%03d", p)
		if _, err := cl.CreateProject(ctx, talis.ProjectCreateParams{Name: name, OwnerID: owner}); err != nil {
			return 0, err
		}
		_, err := emu.SeedReadyInstances(emulator.InstanceRequest{Name: name, OwnerID: owner, Provider: "do",
			Region: "ams3", Size: "s-2vcpu-4gb", Image: "ubuntu-24-04-x64", ProjectName: name, NumberOfInstances: k,
			Tags:    []string{"team:other", "env:prod", "owner:" + fmt.Sprint(owner)},
			Volumes: []emulator.VolumeConfig{{Name: "data", SizeGB: 100}}})
		if err != nil {
			return 0, err
		}
		count -= k
	}
	return time.Since(t0), nil
}

// notReadyReason is the Ready condition of the first set not Ready, as a user would read it.
func (b *bench) notReadyReason(ctx context.Context, ns string, ready map[string]time.Time, n int) string {
	for i := range n {
		if _, ok := ready[setName(i)]; ok {
			continue
		}
		var s infrav1.TalisInstanceSet
		if err := b.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: setName(i)}, &s); err != nil {
			return err.Error()
		}
		if c := meta.FindStatusCondition(s.Status.Conditions, infrav1.ConditionReady); c != nil {
			msg := c.Reason + ": " + c.Message
			if len(msg) > 400 {
				msg = msg[:400] + "…"
			}
			return fmt.Sprintf("%s: %s", s.Name, msg)
		}
		return s.Name + ": no Ready condition"
	}
	return ""
}
