// Command bench measures talis-operator end to end on one machine: a real kube-apiserver and etcd
// (the envtest binaries), the Talis emulator with fixed per-phase delays, and the manager binary
// as a separate process. It runs, in one go:
//
//  1. convergence: N TalisInstanceSets × R replicas applied at once, until every set is Ready;
//  2. a direct-API baseline: the same instances created and polled to ready by a tight program
//     using pkg/talis, against a fresh emulator with the same delays; and a Kubernetes floor:
//     the same sets driven to Ready by a bare controller making only the unavoidable writes;
//     2b. convergence against a capped Talis: operator and baseline again, with the emulator
//     dispatching at most 10 tasks per second per priority, as upstream's worker;
//  3. steady state: Talis calls per hour at the default resync and drift settings, measured with
//     every time constant of the manager divided by k and extrapolated, with and without the
//     drift poll; and outside terminates of steady sets timed to Degraded and to Ready again,
//     on a manager at its default clocks;
//  4. scale: 5,000 sets / 15,000 instances (peak RSS and heap, time to converge);
//  5. apply latency: object creation to the first Talis create call for the set;
//  6. foreign instances: N sets against a Talis already holding many instances of other
//     owners, with and without them (time, calls, response bytes, steady state).
//
// Results go to a JSON file, a Markdown report and a chart (see docs/benchmarks.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

type config struct {
	sizes          []int
	scale          int
	scaleBaseline  bool
	scaleMemLimit  string
	warmup         time.Duration
	probeSets      int
	probeInterval  time.Duration
	replicas       int
	setsPerProject int

	pickup, createDelay, readyDelay time.Duration

	manager      string
	managerArgs  []string
	scrapeEvery  time.Duration
	phaseTimeout time.Duration
	applyWorkers int

	baselineConcurrency int
	baselinePoll        time.Duration
	baselineRateLimit   float64

	floor        bool
	floorWorkers int

	steadyK       int
	steadyWindow  time.Duration
	steadySizes   []int
	steadyNoDrift bool
	driftSamples  int

	cappedSizes    []int
	tasksPerSecond int

	foreignCounts  []int
	foreignSets    int
	foreignTimeout time.Duration

	pprofDir string
	// pprofSeconds: how long the CPU profiles of a convergence run last, from its apply.
	pprofSeconds int
	keep         bool

	jsonOut, mdOut, pngOut string
	fromJSON               string
}

func main() {
	var c config
	var sizes, steadySizes, cappedSizes, mgrArgs, foreign string
	flag.StringVar(&sizes, "sizes", "100,1000", "comma-separated numbers of TalisInstanceSets for the convergence and baseline phases")
	flag.IntVar(&c.scale, "scale", 5000, "sets in the scale phase (0 skips it)")
	flag.BoolVar(&c.scaleBaseline, "scale-baseline", true, "run the direct-API baseline in the scale phase too")
	flag.StringVar(&c.scaleMemLimit, "scale-memory-limit", "70MiB", "run the scale phase's operator once more with this GOMEMLIMIT (the Go runtime's soft memory limit, as the chart sets it from the container's memory limit); empty skips")
	flag.IntVar(&c.probeSets, "probe-sets", 50, "apply latency: sets applied one at a time to each phase's manager once its sets are Ready (0 skips)")
	flag.DurationVar(&c.probeInterval, "probe-interval", 100*time.Millisecond, "apply latency: gap between two probe sets")
	flag.DurationVar(&c.warmup, "warmup", 50*time.Second, "let each phase's manager run this long before applying sets: longer than its create ambiguity window (--talis-timeout + 15s)")
	flag.IntVar(&c.replicas, "replicas", 3, "replicas per set")
	flag.IntVar(&c.setsPerProject, "sets-per-project", 100, "sets per TalisProject (projects = ceil(N / this))")
	flag.DurationVar(&c.pickup, "pickup-delay", 50*time.Millisecond, "emulator: task created → picked up")
	flag.DurationVar(&c.createDelay, "create-delay", time.Second, "emulator: picked up → instance created")
	flag.DurationVar(&c.readyDelay, "ready-delay", time.Second, "emulator: created → ready")
	flag.StringVar(&c.manager, "manager", "bin/manager", "manager binary")
	flag.StringVar(&mgrArgs, "manager-args", "", "extra manager flags, space-separated (e.g. \"--concurrency 32 --talis-rate-limit 20\")")
	// A Prometheus scrapes every 30 s by default; every second, the scrapes themselves (4 series
	// per set) took a quarter of the manager's CPU at 5,000 sets.
	flag.DurationVar(&c.scrapeEvery, "scrape-interval", 15*time.Second, "how often the manager's /metrics (heap in use) is scraped during a run; peak RSS is sampled from /proc every 100 ms regardless")
	flag.DurationVar(&c.phaseTimeout, "phase-timeout", 5*time.Minute, "give up on a phase after this long")
	flag.IntVar(&c.applyWorkers, "apply-workers", 32, "parallel creates when applying the sets (like kubectl apply of many files)")
	flag.IntVar(&c.baselineConcurrency, "baseline-concurrency", 16, "baseline: create calls in flight at once")
	flag.DurationVar(&c.baselinePoll, "baseline-poll", time.Second, "baseline: one list call for every instance per this interval (the manager's --talis-min-list-interval)")
	flag.Float64Var(&c.baselineRateLimit, "baseline-rate-limit", 0, "baseline: client rate limit in requests/s (0: unlimited)")
	flag.BoolVar(&c.floor, "floor", true, "also measure the Kubernetes floor: the same sets driven to Ready by a bare controller making only finalizer, intent and Ready writes")
	flag.IntVar(&c.floorWorkers, "floor-workers", 8, "Kubernetes floor: workers of the bare controller (the manager's --concurrency default)")
	flag.IntVar(&c.steadyK, "steady-k", 60, "steady state: divide the manager's resync period and min list interval by k and extrapolate ×1/k")
	flag.DurationVar(&c.steadyWindow, "steady-window", time.Minute, "steady state: measurement window (compressed time)")
	flag.StringVar(&steadySizes, "steady-sizes", "", "sizes whose sets are measured in steady state (default: every size)")
	flag.BoolVar(&c.steadyNoDrift, "steady-no-drift", true, "steady state: also measure each size with --drift-interval 0 (drift left to the resync)")
	flag.IntVar(&c.driftSamples, "drift-samples", 3, "outside terminates timed on a manager at its default clocks, on the first steady size (0 skips; each takes up to a minute)")
	flag.StringVar(&cappedSizes, "capped-sizes", "100", "sizes measured again (operator and baseline) against an emulator capped at --talis-tasks-per-second; the cap alone makes N sets × 3 replicas take ≥ 0.3·N s")
	flag.IntVar(&c.tasksPerSecond, "talis-tasks-per-second", emulator.UpstreamTasksPerSecond, "capped runs: tasks the emulator's worker starts per second per priority (upstream: 10)")
	flag.StringVar(&foreign, "foreign-instances", "50000", "foreign-instances phase: ready instances of other owners and projects (no tio-set tag) seeded into the emulator before --foreign-sets sets converge, comma-separated for several runs; measured against 0 too (0 or empty skips)")
	flag.IntVar(&c.foreignSets, "foreign-sets", 100, "foreign-instances phase: sets applied (and held in steady state)")
	flag.DurationVar(&c.foreignTimeout, "foreign-timeout", 2*time.Minute, "foreign-instances phase: sets not Ready after this long are reported as such, and the run measured as it stands")
	flag.StringVar(&c.pprofDir, "pprof-dir", "", "if set, run the manager with --pprof-bind-address and save CPU, heap and mutex profiles of each phase here")
	flag.IntVar(&c.pprofSeconds, "pprof-seconds", 20, "with --pprof-dir: seconds of CPU profile (manager and kube-apiserver) from each convergence run's apply")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (manager logs, kubeconfig)")
	flag.StringVar(&c.jsonOut, "json", "docs/benchmarks.json", "results as JSON")
	flag.StringVar(&c.mdOut, "md", "docs/benchmarks.md", "report as Markdown")
	flag.StringVar(&c.pngOut, "png", "docs/benchmarks.png", "chart: time to ready vs N, and Talis calls per set")
	flag.StringVar(&c.fromJSON, "from-json", "", "run nothing: redraw the chart and the report from this results file")
	flag.Parse()

	var err error
	if c.sizes, err = parseInts(sizes); err != nil {
		fatal(err)
	}
	if steadySizes == "" {
		c.steadySizes = c.sizes
	} else if c.steadySizes, err = parseInts(steadySizes); err != nil {
		fatal(err)
	}
	if c.cappedSizes, err = parseInts(cappedSizes); err != nil {
		fatal(err)
	}
	counts, err := parseInts(foreign)
	if err != nil {
		fatal(err)
	}
	for _, n := range counts {
		if n > 0 {
			c.foreignCounts = append(c.foreignCounts, n)
		}
	}
	if c.tasksPerSecond <= 0 {
		fatal(fmt.Errorf("--talis-tasks-per-second must be positive (leave --capped-sizes empty for no capped run)"))
	}
	c.managerArgs = strings.Fields(mgrArgs)

	if c.fromJSON != "" {
		raw, err := os.ReadFile(c.fromJSON)
		if err != nil {
			fatal(err)
		}
		var res Results
		if err := json.Unmarshal(raw, &res); err != nil {
			fatal(err)
		}
		if c.jsonOut == c.fromJSON {
			c.jsonOut = os.DevNull
		}
		if err := writeOutputs(&c, &res); err != nil {
			fatal(err)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &c); err != nil {
		fatal(err)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench failed:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05.0"), fmt.Sprintf(format, args...))
}
