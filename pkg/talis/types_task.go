package talis

import (
	"encoding/json"
	"time"
)

// TaskStatus is a task's state: pending → running → completed | failed;
// terminated only through TerminateTask.
type TaskStatus string

const (
	TaskStatusUnknown    TaskStatus = "unknown"
	TaskStatusPending    TaskStatus = "pending"
	TaskStatusRunning    TaskStatus = "running"
	TaskStatusCompleted  TaskStatus = "completed"
	TaskStatusFailed     TaskStatus = "failed"
	TaskStatusTerminated TaskStatus = "terminated"
)

// Terminal reports whether the worker is done with the task. A terminated
// task may still be overwritten by a worker that was already running it.
func (s TaskStatus) Terminal() bool {
	return s == TaskStatusCompleted || s == TaskStatusFailed || s == TaskStatusTerminated
}

// TaskAction is what a task does; the server knows only these two.
type TaskAction string

const (
	TaskActionCreateInstances    TaskAction = "create_instances"
	TaskActionTerminateInstances TaskAction = "terminate_instances"
)

// TaskPriority orders the worker queues.
type TaskPriority int

const (
	TaskPriorityHigh TaskPriority = 1 // create
	TaskPriorityLow  TaskPriority = 2 // terminate
)

// Task is the server's background task. Failed tasks are never retried.
type Task struct {
	ID             uint       `json:"ID"`
	ModelCreatedAt time.Time  `json:"CreatedAt"` // always zero on the wire
	UpdatedAt      time.Time  `json:"UpdatedAt"`
	DeletedAt      *time.Time `json:"DeletedAt"`

	ProjectID  uint       `json:"project_id"`
	InstanceID uint       `json:"instance_id,omitempty"`
	Action     TaskAction `json:"action"`
	Status     TaskStatus `json:"status"`
	// Payload is the stored InstanceRequest for creates, {"instance_id":N}
	// for terminations.
	Payload json.RawMessage `json:"payload,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"` // never populated
	// Attempts counts worker pickups, not real retries.
	Attempts uint `json:"attempts"`
	// Logs and Error are newline-separated and start with "\n".
	Logs        string       `json:"logs,omitempty"`
	Error       string       `json:"error,omitempty"`
	WebhookURL  string       `json:"webhook_url,omitempty"`
	WebhookSent bool         `json:"webhook_sent"`
	CreatedAt   time.Time    `json:"created_at"`
	LockedAt    *time.Time   `json:"locked_at,omitempty"`
	LockExpiry  *time.Time   `json:"lock_expiry,omitempty"`
	Priority    TaskPriority `json:"priority"`

	// OwnerID is never serialised (and is AdminOwnerID for every visible task).
	OwnerID uint `json:"-"`
}
