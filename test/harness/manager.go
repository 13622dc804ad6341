package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// BuildManager builds cmd/manager into dir, unless MANAGER_BIN names a binary already built
// (make test-chaos builds bin/manager first).
func BuildManager(root, dir string) (string, error) {
	if bin := os.Getenv("MANAGER_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("MANAGER_BIN: %w", err)
		}
		return bin, nil
	}
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/manager")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/manager: %w\n%s", err, b)
	}
	return out, nil
}

// ManagerSpec says how to run one manager process.
type ManagerSpec struct {
	Bin        string
	Kubeconfig string
	Args       []string
	// Env is added to a minimal environment (PATH, HOME, KUBECONFIG): the test's own environment,
	// which may hold anything, is not passed on.
	Env []string
	// Log receives stdout and stderr of every run, appended.
	Log string
}

// Manager is a manager process that can be killed and restarted; all runs append to one log.
type Manager struct {
	spec ManagerSpec

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
	kills  int
}

// StartManager starts a manager process.
func StartManager(spec ManagerSpec) (*Manager, error) {
	m := &Manager{spec: spec}
	return m, m.Start()
}

// Start starts the process if it is not running.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		return nil
	}
	logf, err := os.OpenFile(m.spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "\n===== harness: start #%d at %s =====\n", m.starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(m.spec.Bin, m.spec.Args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "KUBECONFIG=" + m.spec.Kubeconfig}, m.spec.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Never outlive the test process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	m.cmd, m.done = cmd, done
	m.starts++
	return nil
}

func (m *Manager) running() bool {
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// Running reports whether the process is alive.
func (m *Manager) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running()
}

// Done is closed when the current run of the process exits (nil before the first start).
func (m *Manager) Done() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done
}

// Pid is the current process id (0 when not running).
func (m *Manager) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running() {
		return 0
	}
	return m.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to be gone. It reports whether a running process
// was killed.
func (m *Manager) Kill() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running() {
		return false
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.kills++
	return true
}

// Pause stops the process with SIGSTOP, as a stalled VM or a long GC pause would: it keeps its
// connections and its idea of being leader, and acts on it when resumed. It reports whether a
// running process was paused.
func (m *Manager) Pause() bool { return m.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (m *Manager) Resume() bool { return m.signal(syscall.SIGCONT) }

func (m *Manager) signal(sig syscall.Signal) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running() && m.cmd.Process.Signal(sig) == nil
}

// Stop sends SIGTERM and waits up to 40 s for a graceful exit, then kills.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGCONT) // a paused process would never see the SIGTERM
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(40 * time.Second):
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.done
	}
}

// Exited waits up to d for the process to exit by itself and returns its exit code (-1 if it
// is still running).
func (m *Manager) Exited(d time.Duration) int {
	m.mu.Lock()
	done, cmd := m.done, m.cmd
	m.mu.Unlock()
	if done == nil {
		return -1
	}
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// Kills is how many times Kill stopped a running process; Starts how many times it started.
func (m *Manager) Kills() int  { m.mu.Lock(); defer m.mu.Unlock(); return m.kills }
func (m *Manager) Starts() int { m.mu.Lock(); defer m.mu.Unlock(); return m.starts }

// ReadLog returns everything the process wrote so far.
func (m *Manager) ReadLog() string {
	b, _ := os.ReadFile(m.spec.Log)
	return string(b)
}

// LogPath is where the process writes.
func (m *Manager) LogPath() string { return m.spec.Log }

// FreePort returns a TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as "127.0.0.1:port".
func FreeAddr() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// ErrTimeout is returned by Eventually when the condition never held.
var ErrTimeout = errors.New("timed out")

// ManagerArgs are the manager's flags for tests: short intervals, no probes, metrics off, a small
// clock skew (one host clock), plus extra flags (later flags win).
func ManagerArgs(talisURL string, extra ...string) []string {
	args := []string{"--talis-url", talisURL, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--poll-min", "200ms", "--poll-max", "2s", "--error-retry", "2s", "--terminate-retry", "5s",
		"--resync-period", "1m", "--talis-min-list-interval", "200ms", "--talis-timeout", "3s",
		"--talis-rate-limit", "50", "--concurrency", "4", "--cluster-id", ClusterID, "--terminate-settle", "10s",
		// Every test manager runs on this machine's clock: no skew to allow for beyond a margin
		// (the 30 s default would delay every "not applied" verdict the suites wait for).
		"--max-clock-skew", "2s"}
	return append(args, extra...)
}

// Tail returns the last n lines the process wrote.
func (m *Manager) Tail(n int) string { return tail(m.ReadLog(), n) }
