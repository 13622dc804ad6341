/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"time"
)

// Worker phases: what the next event of a task does.
const (
	phIdle uint8 = iota // no event expected (finished, failed or stuck)
	phPickup
	phCreate
	phAfterCreate
	phProvision
	phTerminate
)

// defaultLockDuration is upstream's: a worker locks a task for five minutes (Config.LockDuration).
const defaultLockDuration = 5 * time.Minute

// workingProviders succeed in the worker; the other valid providers pass
// validation and then fail the task, as upstream.
var workingProviders = map[string]bool{"do": true, "ximera": true, "do-mock": true, "digitalocean-mock": true}

// mockProviders are upstream's built-in DigitalOcean mocks: their create
// reports neither a public IP nor a provider instance id.
var mockProviders = map[string]bool{"do-mock": true, "digitalocean-mock": true}

// schedule queues the task's next phase; caller holds st.mu.
func (s *Server) schedule(id uint64, t *task, phase uint8, d time.Duration) {
	t.phase = phase
	s.sched.push(event{at: time.Now().UnixNano() + int64(d), task: id, gen: t.gen})
}

// schedulePickup queues a new (or recovered) task behind the dispatch cap
// of its priority; caller holds st.mu.
func (s *Server) schedulePickup(id uint64, t *task) {
	at := s.pickupWindows[t.action-1].reserve(time.Now().UnixNano() + int64(s.phase(s.delays.Pickup)))
	t.phase = phPickup
	s.sched.push(event{at: at, task: id, gen: t.gen})
}

// resetDispatch starts the dispatchers afresh (at start and restart).
func (s *Server) resetDispatch() {
	for i := range s.pickupWindows {
		s.pickupWindows[i] = newDispatchWindow(s.cfg.TasksPerSecond)
	}
}

// fire runs due events under one store lock per batch.
func (s *Server) fire(batch []event) {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	f := s.faults.Load()
	now := nowNano()
	for _, e := range batch {
		if e.task == 0 || e.task > uint64(len(st.tasks)) {
			continue
		}
		t := &st.tasks[e.task-1]
		if t.gen != e.gen || t.phase == phIdle {
			continue
		}
		if t.phase != phPickup || t.status == tsPending {
			st.taskScan.update(e.task) // every step but a skipped pickup writes the row
		}
		switch t.phase {
		case phPickup:
			s.pickup(e.task, t, f, now)
		case phCreate:
			s.stepCreate(e.task, t, f, now)
		case phAfterCreate:
			s.stepAfterCreate(e.task, t, now)
		case phProvision:
			s.stepProvision(e.task, t, f, now)
		case phTerminate:
			s.stepTerminate(e.task, t, f, now)
		}
	}
}

func (s *Server) complete(t *task, now int64) {
	t.status, t.phase = tsCompleted, phIdle
	t.lockedAt, t.updatedAt = 0, now
	s.stats.add(&s.stats.completed, 1)
}

// fail records an error like upstream; the instance stays where it was
// and the task is never retried. Upstream saves the dispatched copy of the
// task, whose logs hold only the failure line: earlier lines are lost. A
// create appends that line when it fails and again when marked failed.
func (s *Server) fail(t *task, code uint8, now int64) {
	t.errCode = code
	t.logs = 0
	t.log(lgFailed)
	if t.action == actCreate {
		t.log(lgFailed)
	}
	t.status, t.phase = tsFailed, phIdle
	t.lockedAt, t.updatedAt = 0, now
	s.stats.add(&s.stats.failed, 1)
}

func (s *Server) pickup(id uint64, t *task, f *Faults, now int64) {
	if t.status != tsPending { // e.g. task.terminate before pickup
		t.phase = phIdle
		return
	}
	t.status = tsRunning
	t.attempts++
	t.lockedAt, t.updatedAt = now, now // lock_expiry = locked_at + 5 min
	in := &s.st.instances[t.instanceID-1]
	d := s.delays
	if t.action == actTerminate { // upstream's terminate tasks log nothing
		switch {
		case in.status == stTerminated:
			s.complete(t, now)
		case !workingProviders[in.spec.provider]:
			s.fail(t, errUnsupported, now)
		default:
			s.schedule(id, t, phTerminate, s.phase(d.Terminate))
		}
		return
	}
	t.stuckAt = 0
	if s.rng.hit(f.NeverReadyRate) {
		t.stuckAt = f.neverReadyStage()
		if t.stuckAt == stProvisioning && !in.spec.provision {
			t.stuckAt = stCreated
		}
	}
	switch in.status {
	case stPending:
		t.log(lgCreating)
		if !workingProviders[in.spec.provider] {
			s.fail(t, errUnsupported, now)
			return
		}
		if t.stuckAt == stPending {
			t.phase = phIdle // a provider call that never returns
			return
		}
		s.schedule(id, t, phCreate, s.phase(d.Create))
	case stCreated, stProvisioning: // re-run after a restart
		if t.stuckAt == in.status {
			t.phase = phIdle
			return
		}
		if in.status == stCreated {
			s.schedule(id, t, phAfterCreate, s.phase(d.Ready))
		} else {
			s.schedule(id, t, phProvision, s.phase(d.Provision))
		}
	default: // ready or terminated: nothing to do
		s.complete(t, now)
	}
}

// abandoned reports whether a create step must stop because the instance
// was terminated meanwhile. With the race quirk on (default) the create
// worker, like upstream, writes its in-memory status over "terminated".
func (s *Server) abandoned(t *task, in *instance, now int64) bool {
	if in.status != stTerminated || !s.cfg.DisableRaceQuirk {
		return false
	}
	t.log(lgAbandoned)
	s.complete(t, now)
	return true
}

func (s *Server) stepCreate(id uint64, t *task, f *Faults, now int64) {
	st := s.st
	in := &st.instances[t.instanceID-1]
	if s.abandoned(t, in, now) {
		return
	}
	if s.rng.hit(f.CreateFailRate) {
		s.fail(t, errCreate, now)
		return
	}
	if in.ip == 0 && !mockProviders[in.spec.provider] {
		in.ip = allocIP(st.ipNext)
		st.ipNext++
	}
	in.assignProvider(t.instanceID)
	st.setStatus(t.instanceID, stCreated, now)
	t.log(lgCreated)
	t.updatedAt = now
	if t.stuckAt == stCreated {
		t.phase = phIdle
		return
	}
	s.schedule(id, t, phAfterCreate, s.phase(s.delays.Ready))
}

func (s *Server) stepAfterCreate(id uint64, t *task, now int64) {
	in := &s.st.instances[t.instanceID-1]
	if s.abandoned(t, in, now) {
		return
	}
	if !in.spec.provision {
		s.st.setStatus(t.instanceID, stReady, now)
		t.log(lgReady)
		s.complete(t, now)
		return
	}
	s.st.setStatus(t.instanceID, stProvisioning, now)
	t.log(lgProvisioning)
	if in.ip == 0 { // upstream checks the IP before running Ansible
		s.fail(t, errNoPublicIP, now)
		return
	}
	t.log(lgAnsible)
	t.updatedAt = now
	if t.stuckAt == stProvisioning {
		t.phase = phIdle
		return
	}
	s.schedule(id, t, phProvision, s.phase(s.delays.Provision))
}

func (s *Server) stepProvision(id uint64, t *task, f *Faults, now int64) {
	in := &s.st.instances[t.instanceID-1]
	if s.abandoned(t, in, now) {
		return
	}
	if in.ip == 0 { // a re-run after a restart
		s.fail(t, errNoPublicIP, now)
		return
	}
	if s.rng.hit(f.ProvisionFailRate) {
		s.fail(t, errProvision, now)
		return
	}
	s.st.setStatus(t.instanceID, stReady, now)
	t.log(lgAnsibleDone)
	t.log(lgReady)
	s.complete(t, now)
}

func (s *Server) stepTerminate(id uint64, t *task, f *Faults, now int64) {
	in := &s.st.instances[t.instanceID-1]
	if s.rng.hit(f.TerminateFailRate) {
		s.fail(t, errTerminate, now)
		return
	}
	if in.status != stTerminated {
		s.st.setStatus(t.instanceID, stTerminated, now)
		in.terminatedAt = now
		s.stats.add(&s.stats.terminated, 1)
	}
	s.complete(t, now)
}

// recoverTasks is the server's startup recovery: tasks left running go
// back to pending with attempts+1, and every pending task is queued again
// unless it hit the 10-attempt cap. Caller holds st.mu; heap is empty.
func (s *Server) recoverTasks() {
	st := s.st
	now := nowNano()
	s.resetDispatch()
	for i := range st.tasks {
		t := &st.tasks[i]
		t.gen++
		t.phase = phIdle
		if t.status == tsRunning {
			t.status = tsPending
			t.attempts++
			t.lockedAt, t.updatedAt = 0, now
			st.taskScan.update(uint64(i + 1))
		}
		if t.status == tsPending && t.attempts < 10 {
			s.schedulePickup(uint64(i+1), t)
		}
	}
}

// assignProvider records what the provider's create call returned: its instance id and, on
// DigitalOcean, the attached volumes.
func (in *instance) assignProvider(id uint64) {
	switch in.spec.provider {
	case "do-mock", "digitalocean-mock":
		in.providerID = 0
	case "do":
		in.providerID = 400000000 + int64(id)
		in.volumes = len(in.spec.volumes) > 0
	case "ximera":
		in.providerID = 10000 + int64(id)
	default:
		in.providerID = 900000000 + int64(id)
	}
}
