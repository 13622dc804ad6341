/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import "testing"

// Upstream appends a failed create's failure line when the task fails and
// again when it marks the task failed.
func TestFailedCreateLogsFailureTwice(t *testing.T) {
	_, base := start(t, Config{Delays: fast})
	mkProject(t, base, admin, "p1")
	ins := create(t, base, instReq(admin, "p1", "b", 1, `"provider":"do-mock","provision":true`))
	tk := waitTask(t, base, ins[0].ID, "create_instances", "failed")
	const line = "\n❌ high priority worker 2 failed to process create instance task 1: worker: instance ID 1 has no public IP, can't provision"
	if tk.Logs != line+line || tk.Error != "\nworker: instance ID 1 has no public IP, can't provision" {
		t.Fatalf("logs %q error %q", tk.Logs, tk.Error)
	}
}
