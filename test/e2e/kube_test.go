//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// run runs a command and fails the test on error; the output is returned trimmed.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	out, err := try(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func try(stdin string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(out.String() + errb.String()), err
	}
	return strings.TrimSpace(out.String()), nil
}

func (e env) k(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "", e.kubectl, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

func (e env) kIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return run(t, stdin, e.kubectl, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

func (e env) kTry(args ...string) (string, error) {
	return try("", e.kubectl, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

func (e env) h(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "", e.helm, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

// getJSON decodes `kubectl get -o json` of the arguments into v.
func (e env) getJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := e.k(t, append([]string{"get", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding kubectl get %v: %v", args, err)
	}
}

// eventually polls f every second until it returns nil, failing with its last error at the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// instanceSet is the part of a TalisInstanceSet the checks read.
type instanceSet struct {
	Spec struct {
		Replicas int32 `json:"replicas"`
	} `json:"spec"`
	Status struct {
		ReadyReplicas int32    `json:"readyReplicas"`
		ProjectName   string   `json:"projectName"`
		PublicIPs     []string `json:"publicIPs"`
	} `json:"status"`
}

// waitSetReady waits until the set has want ready instances, each with a public IP.
func (e env) waitSetReady(t *testing.T, ns, name string, want int32) instanceSet {
	t.Helper()
	var s instanceSet
	eventually(t, 4*time.Minute, fmt.Sprintf("set %s/%s ready with %d IPs", ns, name, want), func() error {
		s = instanceSet{}
		out, err := e.kTry("-n", ns, "get", "talisinstanceset", name, "-o", "json")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			return err
		}
		ips := 0
		for _, ip := range s.Status.PublicIPs {
			if ip != "" {
				ips++
			}
		}
		if s.Status.ReadyReplicas != want || ips != int(want) {
			return fmt.Errorf("ready %d, IPs %d", s.Status.ReadyReplicas, ips)
		}
		return nil
	})
	return s
}
