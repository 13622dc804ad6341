package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/procfs"
)

// Results is everything one run measured; it is written as docs/benchmarks.json.
type Results struct {
	Generated   time.Time     `json:"generated"`
	Finished    time.Time     `json:"finished"`
	Command     string        `json:"command"`
	Machine     Machine       `json:"machine"`
	LoadBefore  string        `json:"load_before"`
	LoadAfter   string        `json:"load_after"`
	Settings    Settings      `json:"settings"`
	Convergence []Convergence `json:"convergence"`
	// Capped: convergence against an emulator that dispatches tasks as upstream's worker does.
	Capped []Convergence `json:"convergence_capped,omitempty"`
	Steady []Steady      `json:"steady_state"`
	// Drift: outside terminates of steady sets under a manager at its default clocks.
	Drift *DriftAtDefaults `json:"drift_at_defaults,omitempty"`
	Scale *Convergence     `json:"scale,omitempty"`
	// ScaleMemoryLimited: the scale phase's operator run again under a soft memory limit.
	ScaleMemoryLimited *MemoryLimitedRun `json:"scale_memory_limited,omitempty"`
	// MemoryGrowth: manager memory per set between the largest convergence run and the scale run.
	MemoryGrowth *MemoryGrowth `json:"memory_growth,omitempty"`
	Foreign      *Foreign      `json:"foreign_instances,omitempty"`
}

type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
}

func (m Machine) Summary() string {
	return fmt.Sprintf("%s, %d cores, %d GiB, Linux %s, %s", m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go)
}

type Settings struct {
	Sizes               []int    `json:"sizes"`
	Scale               int      `json:"scale"`
	Replicas            int      `json:"replicas"`
	SetsPerProject      int      `json:"sets_per_project"`
	EmulatorDelays      string   `json:"emulator_delays"`
	ManagerArgs         []string `json:"manager_args"`
	ApplyWorkers        int      `json:"apply_workers"`
	BaselineConcurrency int      `json:"baseline_concurrency"`
	BaselinePoll        string   `json:"baseline_poll"`
	BaselineRateLimit   float64  `json:"baseline_rate_limit"`
	SteadyK             int      `json:"steady_k"`
	Warmup              string   `json:"warmup"`
	ProbeSets           int      `json:"probe_sets"`
	ProbeInterval       string   `json:"probe_interval"`
	SteadyWindow        string   `json:"steady_window"`
	FloorWorkers        int      `json:"floor_workers,omitempty"`
	CappedSizes         []int    `json:"capped_sizes,omitempty"`
	TasksPerSecond      int      `json:"capped_talis_tasks_per_second,omitempty"`
	DriftSamples        int      `json:"drift_samples,omitempty"`
	ForeignInstances    []int    `json:"foreign_instances,omitempty"`
	ForeignSets         int      `json:"foreign_sets,omitempty"`
	// ScrapeInterval: how often the harness reads the manager's /metrics during a run.
	ScrapeInterval string `json:"metrics_scrape_interval,omitempty"`
	// ScaleMemoryLimit: GOMEMLIMIT of the scale phase's second operator run ("": none).
	ScaleMemoryLimit string `json:"scale_memory_limit,omitempty"`
}

func settingsOf(c *config) Settings {
	return Settings{Sizes: c.sizes, Scale: c.scale, Replicas: c.replicas, SetsPerProject: c.setsPerProject,
		EmulatorDelays: fmt.Sprintf("pickup %s, create %s, ready %s", c.pickup, c.createDelay, c.readyDelay),
		ManagerArgs:    c.managerArgs, ApplyWorkers: c.applyWorkers, BaselineConcurrency: c.baselineConcurrency,
		BaselinePoll: c.baselinePoll.String(), BaselineRateLimit: c.baselineRateLimit,
		SteadyK: c.steadyK, SteadyWindow: c.steadyWindow.String(), Warmup: c.warmup.String(),
		ProbeSets: c.probeSets, ProbeInterval: c.probeInterval.String(), FloorWorkers: c.floorWorkers,
		CappedSizes: c.cappedSizes, TasksPerSecond: c.tasksPerSecond, DriftSamples: c.driftSamples,
		ForeignInstances: c.foreignCounts, ForeignSets: c.foreignSets, ScrapeInterval: c.scrapeEvery.String(),
		ScaleMemoryLimit: c.scaleMemLimit}
}

// Convergence is one "apply N sets at once until all are Ready" run.
type Convergence struct {
	Name     string `json:"name"`
	N        int    `json:"sets"`
	Replicas int    `json:"replicas"`
	Projects int    `json:"projects"`
	// TasksPerSecond is the emulator's dispatch cap per priority in this run; 0: none.
	TasksPerSecond int        `json:"talis_tasks_per_second,omitempty"`
	Operator       RunResult  `json:"operator"`
	Baseline       *RunResult `json:"baseline,omitempty"`
	Ratio          *Ratio     `json:"operator_over_baseline,omitempty"`
	// Floor: the same sets driven to Ready by a bare controller making only the unavoidable
	// Kubernetes writes, with Talis's delays as timers (see kubeFloor).
	Floor        *RunResult `json:"kubernetes_floor,omitempty"`
	ApplyLatency Latency    `json:"apply_to_first_create"`
	// PacedApplyLatency: probe sets applied one at a time to the warm manager once every set is Ready.
	PacedApplyLatency *Latency `json:"paced_apply_to_first_create,omitempty"`
	// NotReady: sets still not Ready when a run that tolerates it timed out, and why (the Ready
	// condition of the first of them).
	NotReady       int    `json:"sets_not_ready,omitempty"`
	NotReadyReason string `json:"not_ready_reason,omitempty"`
	// ForeignInstances: ready instances of other owners the emulator held (seeded in SeedSeconds).
	ForeignInstances int     `json:"foreign_instances,omitempty"`
	SeedSeconds      float64 `json:"seed_seconds,omitempty"`
}

type RunResult struct {
	ApplySeconds float64 `json:"apply_seconds"` // creating every object (operator) / sending every create (baseline)
	WallSeconds  float64 `json:"wall_seconds"`  // first apply → last set Ready
	TTRP50       float64 `json:"time_to_ready_p50_seconds"`
	TTRP99       float64 `json:"time_to_ready_p99_seconds"`
	TTRMax       float64 `json:"time_to_ready_max_seconds"`

	Calls            int64              `json:"talis_calls"`
	CallsByRoute     map[string]int64   `json:"talis_calls_by_route"`
	CallsPerSet      float64            `json:"talis_calls_per_set"`
	CallsPerSetRoute map[string]float64 `json:"talis_calls_per_set_by_route"`
	InstancesCreated int64              `json:"instances_created"`
	ObjectBytes      int                `json:"ready_set_object_bytes,omitempty"` // one Ready set as JSON, managedFields included
	Reconciles       map[string]float64 `json:"reconciles,omitempty"`
	ReconcilesPerSet float64            `json:"reconciles_per_set,omitempty"`
	KubeWrites       map[string]float64 `json:"kube_writes,omitempty"`
	KubeWritesPerSet map[string]float64 `json:"kube_writes_per_set,omitempty"`
	// KubeRequests: every request kube-apiserver served in the run's window, reads included, by
	// "verb resource[/subresource]"; KubeWatchesOpen: WATCH requests open at its end, by resource.
	KubeRequests           map[string]float64 `json:"kube_requests,omitempty"`
	KubeWatchesOpen        map[string]float64 `json:"kube_watches_open_at_end,omitempty"`
	KubeRegisteredWatchers map[string]float64 `json:"kube_registered_watchers_at_end,omitempty"`
	// Talis response bytes (body) served by the emulator in the window, by route.
	TalisBytes        int64            `json:"talis_response_bytes,omitempty"`
	TalisBytesPerSet  float64          `json:"talis_response_bytes_per_set,omitempty"`
	TalisBytesByRoute map[string]int64 `json:"talis_response_bytes_by_route,omitempty"`
	// TalisServingSeconds: time the emulator spent serving each route in the window.
	TalisServingSeconds    map[string]float64 `json:"talis_serving_seconds_by_route,omitempty"`
	Manager                usage              `json:"manager"`
	ControlPlaneCPUSeconds map[string]float64 `json:"control_plane_cpu_seconds,omitempty"`
	// IntentLatency (Kubernetes floor): a set's create request left the harness → its intent
	// was written, the earliest moment a crash-safe operator may send the create.
	IntentLatency *Latency `json:"apply_to_intent_written,omitempty"`
}

func (r *RunResult) setCalls(byRoute map[string]int64, n int) {
	r.CallsByRoute = map[string]int64{}
	r.CallsPerSetRoute = map[string]float64{}
	r.Calls = 0
	for route, v := range byRoute {
		r.CallsByRoute[route] = v
		r.CallsPerSetRoute[route] = round3(float64(v) / float64(n))
		r.Calls += v
	}
	r.CallsPerSet = round3(float64(r.Calls) / float64(n))
}

func (r *RunResult) setBytes(byRoute map[string]int64, serving map[string]float64, n int) {
	r.TalisBytesByRoute, r.TalisBytes = byRoute, 0
	for _, v := range byRoute {
		r.TalisBytes += v
	}
	r.TalisBytesPerSet = round2(float64(r.TalisBytes) / float64(n))
	r.TalisServingSeconds = serving
}

type Ratio struct {
	Wall   float64 `json:"wall"`
	Calls  float64 `json:"calls"`
	TTRP50 float64 `json:"time_to_ready_p50"`
}

type Latency struct {
	Sets  int     `json:"sets"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Steady is the steady-state cost of N Ready sets, extrapolated to the default settings.
type Steady struct {
	N                         int                `json:"sets"`
	Projects                  int                `json:"projects"`
	Instances                 int                `json:"instances"`
	K                         int                `json:"k"`
	CompressedResync          string             `json:"compressed_resync_period"`
	CompressedMinListInterval string             `json:"compressed_min_list_interval"`
	WindowSeconds             float64            `json:"window_seconds"`
	Extrapolation             float64            `json:"extrapolation_factor"`
	CallsInWindow             int64              `json:"calls_in_window"`
	CallsPerHour              float64            `json:"talis_calls_per_hour"`
	CallsPerHourByRoute       map[string]float64 `json:"talis_calls_per_hour_by_route"`
	CallsPerHourPerProject    float64            `json:"talis_calls_per_hour_per_project"`
	CallsPerHourPerSet        float64            `json:"talis_calls_per_hour_per_set"`
	ReconcilesPerHour         float64            `json:"reconciles_per_hour"`
	KubeWritesPerHour         map[string]float64 `json:"kube_writes_per_hour"`
	ManagerCPUSecondsPerHour  float64            `json:"manager_cpu_seconds_per_hour"`
	ManagerRSSMiB             float64            `json:"manager_rss_mib"`
	// DriftInterval is the compressed --drift-interval ("0s": drift left to the resync).
	DriftInterval string `json:"compressed_drift_interval"`
	// One Talis endpoint (the emulator) serves every set.
	Endpoints               int     `json:"endpoints"`
	CallsPerHourPerEndpoint float64 `json:"talis_calls_per_hour_per_endpoint"`
	ListCallsPerHour        float64 `json:"instance_list_calls_per_hour_per_endpoint"`
	// Response bytes per hour per endpoint at the defaults, and the (compressed) time the
	// emulator spent serving each route during the window.
	BytesPerHour          float64            `json:"talis_response_bytes_per_hour_per_endpoint,omitempty"`
	BytesPerHourByRoute   map[string]float64 `json:"talis_response_bytes_per_hour_by_route,omitempty"`
	ServingSecondsByRoute map[string]float64 `json:"talis_serving_seconds_in_window_by_route,omitempty"`
	// OutsideTerminate ran after the window, on the compressed clocks.
	OutsideTerminate *OutsideTerminate `json:"outside_terminate,omitempty"`
}

// OutsideTerminate is one instance of a Ready set terminated through pkg/talis, as a user would,
// timed from the call to the set's Degraded=True (InstanceTerminatedExternally) and to the set
// being Ready again with a replacement.
type OutsideTerminate struct {
	Set             string  `json:"set"`
	InstanceID      int64   `json:"instance_id"`
	WaitedSeconds   float64 `json:"waited_before_seconds,omitempty"` // random wait before the terminate
	DegradedSeconds float64 `json:"to_degraded_seconds"`
	ReadySeconds    float64 `json:"to_ready_seconds"`
}

// DriftAtDefaults is outside terminates against a manager running with its default flags.
type DriftAtDefaults struct {
	Sets          int                `json:"sets"`
	DriftInterval string             `json:"drift_interval"`
	ResyncPeriod  string             `json:"resync_period"`
	Samples       []OutsideTerminate `json:"samples"`
	DegradedP50   float64            `json:"to_degraded_p50_seconds"`
	DegradedMax   float64            `json:"to_degraded_max_seconds"`
	ReadyP50      float64            `json:"to_ready_p50_seconds"`
	ReadyMax      float64            `json:"to_ready_max_seconds"`
}

func describeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return m
	}
	if cpus, err := fs.CPUInfo(); err == nil && len(cpus) > 0 {
		m.CPU = cpus[0].ModelName
	}
	if mem, err := fs.Meminfo(); err == nil && mem.MemTotal != nil {
		m.MemoryGiB = int((*mem.MemTotal + (1 << 19)) >> 20) // kB to GiB, rounded
	}
	if release, err := fs.SysctlStrings("kernel.osrelease"); err == nil {
		m.Kernel = strings.Join(release, " ")
	}
	return m
}

func loadAvg() string {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return "unknown"
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
}

// commandLine is the command as run, with paths made relative to the working directory (the
// repository root under `make bench`) so that the report names no path outside the repository.
func commandLine() string {
	wd, _ := os.Getwd()
	args := []string{"go run ./hack/bench"}
	for _, a := range os.Args[1:] {
		if rel, err := filepath.Rel(wd, a); err == nil && filepath.IsAbs(a) && !strings.HasPrefix(rel, "..") {
			a = rel
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

func writeOutputs(c *config, res *Results) error {
	res.MemoryGrowth = memoryGrowth(res) // derived, so that --from-json recomputes it
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.jsonOut, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeCharts(c.pngOut, res); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := writeMarkdown(c.mdOut, c, res); err != nil {
		return err
	}
	logf("wrote %s, %s, %s", c.jsonOut, c.mdOut, c.pngOut)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MemoryLimitedRun is a convergence run of a manager started with GOMEMLIMIT set.
type MemoryLimitedRun struct {
	GoMemLimit  string      `json:"gomemlimit"`
	Convergence Convergence `json:"convergence"`
}
