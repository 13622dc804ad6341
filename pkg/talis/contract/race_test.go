package contract

import (
	"fmt"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// With the default lifecycle, as upstream, a terminate sent right after a
// create can complete and still leave the instance ready (the create
// worker writes over it); only a second terminate sticks. A client must
// read the instance, not the terminate task, to know it is gone.
func TestTerminateRightAfterCreateCanBeOverwritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Delays: emulator.DefaultDelays, Seed: 7}, nil)
	ctx := e.ctx
	e.mkProject(t, "race", admin)
	var back, gone []uint
	for r := 0; r < 8 && (len(back) == 0 || len(gone) == 0); r++ { // one in five comes back
		created := must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("race", admin, "do", fmt.Sprintf("r%d", r), 5)}))(t)
		ids := idsOf(created)
		noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "race", InstanceIDs: ids}))
		for _, id := range ids {
			eventually(t, fmt.Sprintf("tasks of instance %d done", id), func() bool {
				tasks := must(e.c.ListTasksByInstanceID(ctx, admin, id, "", nil))(t)
				done := 0
				for _, tk := range tasks {
					if tk.Status == talis.TaskStatusCompleted {
						done++
					}
				}
				return len(tasks) == 2 && done == 2
			})
			switch in := must(e.c.GetInstance(ctx, fmt.Sprint(id)))(t); in.Status {
			case talis.InstanceStatusReady:
				back = append(back, id)
			case talis.InstanceStatusTerminated:
				gone = append(gone, id)
			default:
				t.Fatalf("instance %d %s after both tasks completed", id, in.Status)
			}
		}
	}
	if len(back) == 0 || len(gone) == 0 {
		t.Fatalf("%d overwritten and %d terminated: upstream overwrites about one terminate in five", len(back), len(gone))
	}
	noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "race", InstanceIDs: back}))
	e.waitStatus(t, back, talis.InstanceStatusTerminated)
	for _, id := range back {
		if l := ledgerByID(e.srv)[id]; l.Status != "terminated" {
			t.Errorf("ledger: instance %d %s after the second terminate", id, l.Status)
		}
	}
}
