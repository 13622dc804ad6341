//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// pod is the part of a Pod the checks read.
type pod struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		PodIP      string `json:"podIP"`
		Conditions []struct {
			Type, Status string
		} `json:"conditions"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			ContainerID  string `json:"containerID"`
			Ready        bool   `json:"ready"`
			RestartCount int    `json:"restartCount"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// checkProcess proves from the node what the pod spec asks for: the manager's process runs as uid
// 65532 (from the image's USER; the pod sets no runAsUser), its root filesystem is mounted
// read-only, and GOMEMLIMIT is 90% of the 256Mi limit.
func (e env) checkProcess(t *testing.T, p pod) {
	t.Helper()
	var id string
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == "manager" {
			id = strings.TrimPrefix(c.ContainerID, "containerd://")
		}
	}
	if id == "" {
		t.Fatalf("pod %s: no manager container ID", p.Metadata.Name)
	}
	pid := e.taskPID(t, id)
	status := readProc(t, pid, "status")
	if !strings.Contains(status, "\nUid:\t65532\t65532\t65532\t65532\n") {
		t.Errorf("pod %s: manager process is not uid 65532:\n%s", p.Metadata.Name, grepLine(status, "Uid:"))
	}
	if root := rootMountOptions(readProc(t, pid, "mountinfo")); !strings.HasPrefix(root, "ro") {
		t.Errorf("pod %s: root filesystem mount options %q, want read-only", p.Metadata.Name, root)
	}
	if env := readProc(t, pid, "environ"); !strings.Contains(env, "\x00GOMEMLIMIT=241591910\x00") && !strings.HasPrefix(env, "GOMEMLIMIT=241591910\x00") {
		t.Errorf("pod %s: GOMEMLIMIT=241591910 (90%% of limits.memory 256Mi) not in the manager's environment", p.Metadata.Name)
	}
}

// taskPID asks containerd for the host PID of a container's process.
func (e env) taskPID(t *testing.T, id string) string {
	t.Helper()
	out := run(t, "", "ctr", "--address", e.containerd, "-n", "k8s.io", "tasks", "ls")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == id {
			return f[1]
		}
	}
	t.Fatalf("container %s has no task in containerd:\n%s", id, out)
	return ""
}

func readProc(t *testing.T, pid, file string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/%s", pid, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rootMountOptions returns the per-mount options of the process's "/" (mountinfo field 6).
func rootMountOptions(mountinfo string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[4] == "/" {
			return f[5]
		}
	}
	return ""
}

func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
