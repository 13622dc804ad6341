/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"fmt"
	"net/http"
)

// createInstances is POST /api/v1/instances: validate everything, look up
// every project, then insert instance rows and one create task each.
func (s *Server) createInstances(c *reqCtx) {
	var reqs []InstanceRequest
	if err := decodeBody(c.r, c.body, &reqs); err != nil {
		writeInvalid(c.w, decodeMsg(err))
		return
	}
	if len(reqs) == 0 {
		writeInvalid(c.w, "at least one instance request is required")
		return
	}
	total := 0
	for i := range reqs {
		reqs[i].Action = "create"
		if err := s.validateInstanceRequest(&reqs[i]); err != nil {
			writeInvalid(c.w, err.Error())
			return
		}
		total += reqs[i].NumberOfInstances
	}
	if total > s.cfg.MaxInstancesPerRequest {
		writeSlug(c.w, http.StatusInternalServerError, slugServerError,
			fmt.Sprintf("failed to add instances to database: emulator limit of %d instances per request exceeded", s.cfg.MaxInstancesPerRequest), nil)
		return
	}

	st := s.st
	st.mu.Lock()
	pids := make([]uint64, len(reqs))
	for i := range reqs {
		pid, p := st.liveProject(uint64(reqs[i].OwnerID), reqs[i].ProjectName)
		if p == nil {
			st.mu.Unlock()
			writeSlug(c.w, http.StatusInternalServerError, slugServerError, "failed to get project: record not found", nil)
			return
		}
		pids[i] = pid
	}

	// Upstream answers with the rows it just inserted, whose timestamps
	// still carry Go's nanoseconds; PostgreSQL keeps microseconds, which is
	// what every later read shows.
	now, exact := insertTime()
	first := uint64(len(st.instances)) + 1
	rows := make([]instance, 0, total)
	for i := range reqs {
		r := &reqs[i]
		sp := specFrom(r, pids[i])
		sp.firstID = uint64(len(st.instances)) + 1
		var ps uint8
		if r.PayloadPath != "" {
			ps = 1 // pending_copy, never advanced
		}
		for k := 0; k < r.NumberOfInstances; k++ {
			name := r.Name
			if name != "" && r.NumberOfInstances > 1 {
				name = fmt.Sprintf("%s-%d", r.Name, k+1)
			}
			in := instance{spec: sp, name: name, createdAt: now, updatedAt: now, status: stPending, payload: ps}
			st.instances = append(st.instances, in)
			st.scan.insert(uint64(len(st.instances)))
			st.projInstances[sp.projectID] = append(st.projInstances[sp.projectID], uint64(len(st.instances)))
			rows = append(rows, in)
		}
	}
	st.statusCount[stPending] += int64(total)
	// Tasks go in a second pass, as upstream writes them in a second
	// transaction.
	for i := range rows {
		id := first + uint64(i)
		in := &st.instances[id-1]
		tid := st.addTask(task{
			ownerID: in.spec.ownerID, projectID: in.spec.projectID, instanceID: id,
			createdAt: now, updatedAt: now, action: actCreate, status: tsPending,
		})
		in.createTask = tid
		s.schedulePickup(tid, &st.tasks[tid-1])
	}
	st.mu.Unlock()
	s.stats.add(&s.stats.created, int64(total))

	out := make([]Instance, len(rows))
	for i := range rows {
		rows[i].createdAt, rows[i].updatedAt = exact, exact
		out[i] = renderInstance(first+uint64(i), &rows[i])
	}
	writeSlug(c.w, http.StatusCreated, slugSuccess, "", out)
}

func specFrom(r *InstanceRequest, pid uint64) *instSpec {
	return &instSpec{
		ownerID:        uint64(r.OwnerID),
		projectID:      pid,
		projectName:    r.ProjectName,
		name:           r.Name,
		provider:       string(r.Provider),
		region:         r.Region,
		size:           r.Size,
		image:          r.Image,
		memory:         r.Memory,
		cpu:            r.CPU,
		count:          r.NumberOfInstances,
		tags:           r.Tags,
		volumes:        r.Volumes,
		provision:      r.Provision,
		payloadPath:    r.PayloadPath,
		executePayload: r.ExecutePayload,
		sshKeyType:     r.SSHKeyType,
		sshKeyPath:     r.SSHKeyPath,
	}
}
