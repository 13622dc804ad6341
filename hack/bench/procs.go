package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"

	"github.com/talis-operator/talis-operator/test/harness"
)

// cpuSeconds is the user+system CPU time a process has used so far.
func cpuSeconds(pid int) float64 {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return st.CPUTime()
}

// memKiB reads VmRSS and VmHWM (peak RSS) of a process.
func memKiB(pid int) (rss, hwm int64) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, 0
	}
	return int64(st.VmRSS / 1024), int64(st.VmHWM / 1024)
}

// childPIDs finds this process's children by command name (envtest starts etcd and
// kube-apiserver as children).
func childPIDs() map[string]int {
	out := map[string]int{}
	self := os.Getpid()
	procs, _ := procfs.AllProcs()
	for _, p := range procs {
		if st, err := p.Stat(); err == nil && st.PPID == self {
			out[st.Comm] = p.PID
		}
	}
	return out
}

// managerProc is the manager binary running as a child process, watched from outside as an
// operator's SRE would: /proc for CPU and RSS, its Prometheus endpoint for heap and reconciles.
type managerProc struct {
	proc       *harness.Manager
	pid        int
	metricsURL string
	pprofURL   string
	logPath    string

	mu        sync.Mutex
	peakHeap  float64 // go_memstats_heap_inuse_bytes, max over scrapes
	peakRSSkB int64   // VmRSS, max over samples (VmHWM is read at the end too)
	stop      chan struct{}
	stopOnce  sync.Once
	stopped   chan struct{}
	exited    <-chan struct{}
}

// startManager runs the manager with env added to its minimal environment (nil for none).
func startManager(ctx context.Context, c *config, kubeconfig, dir, name, talisURL, namespace string, env []string, extra ...string) (*managerProc, error) {
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--talis-url", talisURL, "--metrics-secure=false", "--cluster-id", benchCluster,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--health-probe-bind-address", "0", "--watch-namespaces", namespace}
	m := &managerProc{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if c.pprofDir != "" {
		pport, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--pprof-bind-address", fmt.Sprintf("127.0.0.1:%d", pport))
		m.pprofURL = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", pport)
	}
	args = append(args, c.managerArgs...)
	args = append(args, extra...)
	m.logPath = filepath.Join(dir, "manager-"+name+".log")
	m.proc, err = harness.StartManager(harness.ManagerSpec{Bin: c.manager, Kubeconfig: kubeconfig, Args: args, Env: env, Log: m.logPath})
	if err != nil {
		return nil, fmt.Errorf("starting %s (run via `make bench`, which builds it): %w", c.manager, err)
	}
	m.pid, m.exited = m.proc.Pid(), m.proc.Done()
	logf("manager %s started (pid %d): %s", name, m.pid, strings.Join(slices.Concat(env, []string{c.manager}, args), " "))

	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := m.scrape(); err == nil {
			break
		}
		select {
		case <-m.exited:
			return nil, fmt.Errorf("manager exited at start; see %s", m.logPath)
		case <-ctx.Done():
			m.kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.kill()
			return nil, fmt.Errorf("manager metrics never came up; see %s", m.logPath)
		}
	}
	go m.sample(c.scrapeEvery)
	return m, nil
}

func (m *managerProc) sample(every time.Duration) {
	defer close(m.stopped)
	rssTick := time.NewTicker(100 * time.Millisecond)
	defer rssTick.Stop()
	last := time.Time{}
	for {
		select {
		case <-m.stop:
			return
		case <-m.exited:
			return
		case <-rssTick.C:
		}
		rss, _ := memKiB(m.pid)
		m.mu.Lock()
		m.peakRSSkB = max(m.peakRSSkB, rss)
		m.mu.Unlock()
		if time.Since(last) >= every {
			last = time.Now()
			if mt, err := m.scrape(); err == nil {
				m.mu.Lock()
				m.peakHeap = max(m.peakHeap, mt.sum("go_memstats_heap_inuse_bytes", nil))
				m.mu.Unlock()
			}
		}
	}
}

// usage is what the process has used so far.
type usage struct {
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	PeakHeapMiB float64 `json:"peak_heap_inuse_mib"`
	RSSMiB      float64 `json:"rss_mib"`
}

func (m *managerProc) usage() usage {
	rss, hwm := memKiB(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	return usage{CPUSeconds: cpuSeconds(m.pid), PeakRSSMiB: float64(max(hwm, m.peakRSSkB)) / 1024,
		PeakHeapMiB: m.peakHeap / (1 << 20), RSSMiB: float64(rss) / 1024}
}

func (m *managerProc) scrape() (metrics, error) {
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(m.metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// profile saves a pprof profile of the manager (CPU profiles block for their duration).
func (m *managerProc) profile(dir, name, kind string, seconds int) {
	if m.pprofURL == "" {
		return
	}
	url := m.pprofURL + "/" + kind
	if seconds > 0 {
		url += fmt.Sprintf("?seconds=%d", seconds)
	}
	cl := http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		logf("pprof %s: %v", kind, err)
		return
	}
	defer resp.Body.Close()
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name+"-"+kind+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
	logf("saved %s", path)
}

// kill stops the process: SIGTERM, then SIGKILL if it has not exited after a grace period.
func (m *managerProc) kill() { m.proc.Stop() }

// shutdown stops sampling and the process; usage must be read before.
func (m *managerProc) shutdown() {
	m.stopOnce.Do(func() {
		close(m.stop)
		<-m.stopped
		m.kill()
	})
}

// metrics is a parsed Prometheus text exposition: name → series. Only counters, gauges and
// untyped samples are kept; the bench reads no histogram or summary.
type metrics map[string][]series

type series struct {
	labels map[string]string
	value  float64
}

func parseMetrics(r io.Reader) (metrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := metrics{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			labels := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], series{labels: labels, value: v})
		}
	}
	return out, nil
}

// sum adds up the series of name whose labels include match.
func (m metrics) sum(name string, match map[string]string) float64 {
	total := 0.0
next:
	for _, s := range m[name] {
		for k, v := range match {
			if s.labels[k] != v {
				continue next
			}
		}
		total += s.value
	}
	return total
}
