/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"errors"
	"fmt"
)

// SeedReadyInstances stores req.NumberOfInstances instances that are already ready, as if
// req had been sent to POST /api/v1/instances long ago and the worker had driven every
// instance to ready: each has its completed create task, IP, provider id and volumes, and
// reads the same on the wire as an instance created over HTTP. It exists for benchmarks
// that need tens of thousands of rows someone else created: that many HTTP creates and
// lifecycles would take minutes. The project must exist (create it over the API). It
// returns the id of the first instance; the others follow it.
func (s *Server) SeedReadyInstances(req InstanceRequest) (uint64, error) {
	req.Action = "create"
	if err := s.validateInstanceRequest(&req); err != nil {
		return 0, err
	}
	if req.PayloadPath != "" {
		return 0, errors.New("emulator: seeded instances carry no payload")
	}
	if !workingProviders[string(req.Provider)] {
		return 0, fmt.Errorf("emulator: the worker cannot make a %s instance ready", req.Provider)
	}
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	pid, p := st.liveProject(uint64(req.OwnerID), req.ProjectName)
	if p == nil {
		return 0, fmt.Errorf("emulator: no project %q of owner %d", req.ProjectName, req.OwnerID)
	}
	sp := specFrom(&req, pid)
	first := uint64(len(st.instances)) + 1
	sp.firstID = first
	now := nowNano()
	for k := 0; k < req.NumberOfInstances; k++ {
		name := req.Name
		if name != "" && req.NumberOfInstances > 1 {
			name = fmt.Sprintf("%s-%d", req.Name, k+1)
		}
		st.instances = append(st.instances, instance{spec: sp, name: name, createdAt: now, updatedAt: now, status: stReady})
		id := uint64(len(st.instances))
		in := &st.instances[id-1]
		st.scan.insert(id)
		st.projInstances[pid] = append(st.projInstances[pid], id)
		if !mockProviders[sp.provider] {
			in.ip = allocIP(st.ipNext)
			st.ipNext++
		}
		in.assignProvider(id)
		// The create task as the worker leaves it: picked up once, logged, completed.
		t := task{ownerID: sp.ownerID, projectID: pid, instanceID: id, createdAt: now, updatedAt: now,
			attempts: 1, action: actCreate, status: tsCompleted}
		t.log(lgCreating)
		t.log(lgCreated)
		if sp.provision {
			t.log(lgProvisioning)
			t.log(lgAnsible)
			t.log(lgAnsibleDone)
		}
		t.log(lgReady)
		in.createTask = st.addTask(t)
	}
	st.statusCount[stReady] += int64(req.NumberOfInstances)
	return first, nil
}
