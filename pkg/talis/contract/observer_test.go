package contract

import (
	"sync"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// callLog collects CallInfo from an Observer (and feeds coverage).
type callLog struct {
	mu    sync.Mutex
	calls []talis.CallInfo
	hook  func(talis.CallInfo)
}

func (l *callLog) observe(ci talis.CallInfo) {
	observe(ci)
	l.mu.Lock()
	l.calls = append(l.calls, ci)
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(ci)
	}
}

func (l *callLog) take() []talis.CallInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// TestObserver checks what CallInfo reports per attempt.
func TestObserver(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	e := newEnv(t, emulator.Config{}, func(o *talis.Options) { o.Observer = log.observe })
	ctx := e.ctx
	e.mkProject(t, "obs", 7)
	_, _ = e.c.GetInstance(ctx, "77")
	must(e.c.CreateInstance(ctx, []talis.InstanceRequest{instReq("obs", 7, "do-mock", "", 1)}))(t)
	calls := log.take()
	want := []struct {
		method, route string
		status        int
		err           bool
	}{
		{"CreateProject", "RPC project.create", 200, false},
		{"GetInstance", "GET /api/v1/instances/{id}", 500, true},
		{"CreateInstance", "POST /api/v1/instances", 201, false},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls %+v", calls)
	}
	for i, w := range want {
		c := calls[i]
		if c.Method != w.method || c.Route != w.route || c.StatusCode != w.status || (c.Err != nil) != w.err || c.Attempt != 1 || c.Duration <= 0 {
			t.Errorf("CallInfo[%d] = %+v, want %+v", i, c, w)
		}
	}
}
