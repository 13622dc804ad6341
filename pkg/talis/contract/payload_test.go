package contract

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// jsonbOrdered reports whether every object in b lists its keys as
// PostgreSQL's jsonb does: shorter first, then bytewise.
func jsonbOrdered(t *testing.T, b []byte) bool {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var last []string // previous key per open object; "\x00" marks an array
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				last, expectKey = append(last, ""), true
				continue
			case '[':
				last = append(last, "\x00")
			default:
				last = last[:len(last)-1]
			}
		case string:
			if expectKey {
				prev := last[len(last)-1]
				if prev != "" && (len(v) < len(prev) || len(v) == len(prev) && v < prev) {
					t.Errorf("key %q after %q in %s", v, prev, b)
					return false
				}
				last[len(last)-1] = v
				expectKey = false
				continue
			}
		}
		expectKey = len(last) > 0 && last[len(last)-1] != "\x00"
	}
}

// Task payloads come back from jsonb; the client keeps the bytes as sent.
func TestTaskPayloadKeyOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{Delays: emulator.Delays{Pickup: time.Hour}}, nil)
	ctx := e.ctx
	e.mkProject(t, "payloads", admin)
	ins := must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("payloads", admin, "do", "p", 2, "x")}))(t)
	for _, in := range ins {
		tk := must(e.c.ListTasksByInstanceID(ctx, admin, in.ID, "", nil))(t)[0]
		if !jsonbOrdered(t, tk.Payload) {
			continue
		}
		var raw emulator.Task
		e.rawRPC(t, "task.get", map[string]any{"task_id": tk.ID, "owner_id": admin}, &raw)
		sameTask(t, tk, raw)
	}
}
