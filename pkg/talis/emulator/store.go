/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"sync"
	"time"
)

// AdminID is the hard-wired owner of every visible task (MaxUint32).
const AdminID = 4294967295

// Instance statuses, same integers as upstream.
const (
	stUnknown uint8 = iota
	stPending
	stCreated
	stProvisioning
	stReady
	stTerminated
)

var instanceStatusNames = [...]string{"unknown", "pending", "created", "provisioning", "ready", "terminated"}

var payloadStatusNames = [...]string{"none", "pending_copy", "copy_failed", "copied", "pending_execution", "execution_failed", "executed"}

// Task statuses and actions.
const (
	tsUnknown uint8 = iota
	tsPending
	tsRunning
	tsCompleted
	tsFailed
	tsTerminated
)

var taskStatusNames = [...]string{"unknown", "pending", "running", "completed", "failed", "terminated"}

const (
	actCreate    uint8 = 1
	actTerminate uint8 = 2
)

var taskActionNames = [...]string{"", "create_instances", "terminate_instances"}

func parseInstanceStatus(s string) (uint8, bool) {
	for i, n := range instanceStatusNames {
		if n == s {
			return uint8(i), true
		}
	}
	return 0, false
}

// instSpec is shared by all instances expanded from one request element;
// it is immutable once stored, so it can be read without the lock.
type instSpec struct {
	ownerID        uint64
	projectID      uint64
	projectName    string
	name           string // as requested (instances get "-N" appended)
	firstID        uint64 // the element's instances have consecutive ids
	provider       string
	region         string
	size           string
	image          string
	memory, cpu    int
	count          int
	tags           []string
	volumes        []VolumeConfig
	provision      bool
	payloadPath    string
	executePayload bool
	sshKeyType     string
	sshKeyPath     string
}

// instance is kept compact (≈80 bytes) so 100k rows stay light.
type instance struct {
	spec         *instSpec
	name         string
	createdAt    int64
	updatedAt    int64
	terminatedAt int64
	providerID   int64 // provider_instance_id
	createTask   uint64
	ip           uint32
	status       uint8
	payload      uint8 // payload status
	volumes      bool  // volume ids/details attached (DO only)
}

type task struct {
	ownerID    uint64
	projectID  uint64
	instanceID uint64
	createdAt  int64
	updatedAt  int64
	lockedAt   int64  // 0 = unlocked
	logs       uint64 // log line codes, see tasklog.go
	attempts   uint32
	gen        uint32 // bumps invalidate queued scheduler events
	action     uint8
	status     uint8
	phase      uint8 // worker phase, see worker.go
	stuckAt    uint8 // instance status at which a never-ready fault freezes it
	errCode    uint8
}

type project struct {
	ownerID     uint64
	name        string
	description string
	config      string
	createdAt   int64
	updatedAt   int64
	deletedAt   int64
}

type user struct {
	username  string
	email     string
	sshKey    string
	role      int
	deletedAt int64
}

type sshKey struct {
	ownerID   uint64
	name      string
	publicKey string
	createdAt int64
	updatedAt int64
	deletedAt int64
}

type sshKeyIndex struct {
	owner uint64
	name  string
}

// store is the in-memory database; ids are slice index + 1 and rows are
// never removed (soft deletes only), like the upstream tables.
type store struct {
	mu            sync.RWMutex
	instances     []instance
	tasks         []task
	projects      []project
	users         []user
	sshKeys       []sshKey
	projByName    map[string]uint64 // includes deleted: names stay reserved
	projInstances map[uint64][]uint64
	projTasks     map[uint64][]uint64
	termTasks     map[uint64][]uint64 // instance id → terminate task ids
	usernames     map[string]uint64   // includes deleted users
	keyIndex      map[sshKeyIndex]uint64
	ipNext        uint64
	statusCount   [6]int64
	scan          scanOrder // instances
	taskScan      scanOrder
}

func newStore() *store {
	return &store{
		projByName:    map[string]uint64{},
		projInstances: map[uint64][]uint64{},
		projTasks:     map[uint64][]uint64{},
		termTasks:     map[uint64][]uint64{},
		usernames:     map[string]uint64{},
		keyIndex:      map[sshKeyIndex]uint64{},
	}
}

// nowNano returns wall time truncated to microseconds, the precision rows
// have after a PostgreSQL round trip.
func nowNano() int64 {
	n := time.Now().UnixNano()
	return n - n%1000
}

// insertTime returns the stored time and the one a create answers with:
// upstream answers with the row it inserted, still in Go's nanoseconds.
func insertTime() (stored, answered int64) {
	n := time.Now().UnixNano()
	return n - n%1000, n
}

func ts(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func tsPtr(n int64) *time.Time {
	if n == 0 {
		return nil
	}
	t := ts(n)
	return &t
}

// liveProject finds a non-deleted project by name, optionally scoped to an
// owner (owner 0 means "any", like GORM dropping a zero-valued condition).
func (st *store) liveProject(owner uint64, name string) (uint64, *project) {
	id, ok := st.projByName[name]
	if !ok {
		return 0, nil
	}
	p := &st.projects[id-1]
	if p.deletedAt != 0 || (owner != 0 && p.ownerID != owner) {
		return 0, nil
	}
	return id, p
}

// setStatus updates an instance row (which may move it in heap order).
func (st *store) setStatus(id uint64, s uint8, now int64) {
	in := &st.instances[id-1]
	st.scan.update(id)
	st.statusCount[in.status]--
	st.statusCount[s]++
	if in.status == stTerminated && s != stTerminated {
		in.terminatedAt = 0 // a running create wrote over the terminate (the race quirk)
	}
	in.status = s
	in.updatedAt = now
}

func (st *store) addTask(t task) uint64 {
	st.tasks = append(st.tasks, t)
	id := uint64(len(st.tasks))
	st.taskScan.insert(id)
	st.projTasks[t.projectID] = append(st.projTasks[t.projectID], id)
	return id
}

func renderProject(id uint64, p *project) Project {
	return Project{
		ID:            uint(id),
		UpdatedAt:     ts(p.updatedAt),
		DeletedAt:     tsPtr(p.deletedAt),
		Name:          p.name,
		Description:   p.description,
		Config:        p.config,
		CreatedAtReal: ts(p.createdAt),
	}
}

func renderUser(id uint64, u *user) User {
	return User{
		ID:           uint(id),
		DeletedAt:    tsPtr(u.deletedAt),
		Username:     u.username,
		Email:        u.email,
		Role:         UserRole(u.role),
		PublicSSHKey: u.sshKey,
	}
}

func renderSSHKey(id uint64, k *sshKey) SSHKey {
	return SSHKey{
		ID:        uint(id),
		CreatedAt: ts(k.createdAt),
		UpdatedAt: ts(k.updatedAt),
		DeletedAt: tsPtr(k.deletedAt),
		Name:      k.name,
		PublicKey: k.publicKey,
		OwnerID:   uint(k.ownerID),
	}
}
