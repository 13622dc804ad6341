package contract

import (
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// Upstream logs a failed create's failure line twice; the client hands
// the log over as sent.
func TestFailedCreateTaskLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Faults: emulator.Faults{CreateFailRate: 1}}, nil)
	ctx := e.ctx
	e.mkProject(t, "fails", admin)
	in := must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("fails", admin, "do", "f", 1)}))(t)[0]
	var tk *talis.Task
	eventually(t, "the create task to fail", func() bool {
		ts := must(e.c.ListTasksByInstanceID(ctx, admin, in.ID, string(talis.TaskActionCreateInstances), nil))(t)
		tk = ts[0]
		return tk.Status == talis.TaskStatusFailed
	})
	const msg = "worker: failed to create instance ID 1: emulator: injected provider failure"
	const line = "\n❌ high priority worker 2 failed to process create instance task 1: " + msg
	if tk.Logs != line+line || tk.Error != "\n"+msg {
		t.Errorf("logs %q error %q", tk.Logs, tk.Error)
	}
	var raw emulator.Task
	e.rawRPC(t, "task.get", map[string]any{"task_id": tk.ID, "owner_id": admin}, &raw)
	sameTask(t, tk, raw)
}
