/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"fmt"
	"strings"
)

// Task logs and errors are stored as codes and rendered on read: every
// line is derivable from the task and its instance, and 100k tasks would
// otherwise carry ~100 bytes of log text each.

// Log line codes (4 bits each, up to 16 lines per task). Terminate tasks
// log nothing upstream, except the line of a failure.
const (
	lgEnd uint8 = iota
	lgCreating
	lgCreated
	lgReady
	lgProvisioning
	lgAnsible
	lgAnsibleDone
	lgAbandoned
	lgFailed
)

// Error codes (a failed task is never retried, so there is at most one).
const (
	errNone uint8 = iota
	errUnsupported
	errCreate
	errProvision
	errTerminate
	errNoPublicIP
)

const injectedProviderFailure = "emulator: injected provider failure"

// log appends a line; lines beyond 16 (a task re-run after many restarts)
// are dropped.
func (t *task) log(code uint8) {
	for shift := 0; shift < 64; shift += 4 {
		if (t.logs>>shift)&0xf == 0 {
			t.logs |= uint64(code) << shift
			return
		}
	}
}

func errMessage(t *task, in *instance) string {
	id := t.instanceID
	switch t.errCode {
	case errUnsupported:
		p := in.spec.provider
		return fmt.Sprintf("worker: failed to get compute provider for provider %s: unsupported provider: %s", p, p)
	case errCreate:
		return fmt.Sprintf("worker: failed to create instance ID %d: %s", id, injectedProviderFailure)
	case errProvision:
		return fmt.Sprintf("worker: failed to run Ansible playbook for instance ID %d: exit status 2", id)
	case errTerminate:
		return fmt.Sprintf("worker: failed to delete instance ID %d: %s", id, injectedProviderFailure)
	case errNoPublicIP:
		return fmt.Sprintf("worker: instance ID %d has no public IP, can't provision", id)
	}
	return ""
}

func workerName(id uint64, t *task) string {
	if t.action == actCreate {
		return fmt.Sprintf("high priority worker %d", id%70+1)
	}
	return fmt.Sprintf("low priority worker %d", id%30+1)
}

// renderLogs renders the newline-separated log ("" when empty).
func renderLogs(id uint64, t *task, in *instance) string {
	var b strings.Builder
	iid := t.instanceID
	for shift := 0; shift < 64; shift += 4 {
		code := uint8(t.logs>>shift) & 0xf
		if code == lgEnd {
			break
		}
		b.WriteByte('\n')
		switch code {
		case lgCreating:
			fmt.Fprintf(&b, "Creating instance ID %d", iid)
		case lgCreated:
			fmt.Fprintf(&b, "Instance ID %d created, determining if provisioning is needed", iid)
		case lgReady:
			fmt.Fprintf(&b, "Instance ID %d is ready", iid)
		case lgProvisioning:
			fmt.Fprintf(&b, "Instance ID %d is provisioning", iid)
		case lgAnsible:
			b.WriteString("Running Ansible provisioning")
		case lgAnsibleDone:
			b.WriteString("Ansible provisioning completed")
		case lgAbandoned:
			fmt.Fprintf(&b, "Instance ID %d was terminated during creation", iid)
		case lgFailed:
			verb := "create"
			if t.action == actTerminate {
				verb = "terminate"
			}
			fmt.Fprintf(&b, "❌ %s failed to process %s instance task %d: %s", workerName(id, t), verb, id, errMessage(t, in))
		}
	}
	return b.String()
}
