/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"encoding/json"
	"time"
)

// Wire structs. They are deliberately independent of pkg/talis so that a
// contract suite can catch drift. Go type names matter: decoder error
// messages embed them and errors.go rewrites them to the upstream names.

// ProviderID mirrors upstream models.ProviderID (a string type).
type ProviderID string

// UserRole mirrors upstream models.UserRole (an int on the wire).
type UserRole int

// VolumeConfig is one element of InstanceRequest.volumes.
type VolumeConfig struct {
	Name       string `json:"name"`
	SizeGB     int    `json:"size_gb"`
	Region     string `json:"region"`
	FileSystem string `json:"filesystem"`
	MountPoint string `json:"mount_point"`
}

// VolumeDetail is one element of Instance.volume_details.
type VolumeDetail struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Region     string `json:"region"`
	SizeGB     int    `json:"size_gb"`
	MountPoint string `json:"mount_point"`
}

// InstanceRequest is one element of the create body and, re-encoded in
// jsonb key order, the payload of a create_instances task.
type InstanceRequest struct {
	Name               string         `json:"name,omitempty"`
	OwnerID            uint           `json:"owner_id"`
	Provider           ProviderID     `json:"provider"`
	Region             string         `json:"region"`
	Size               string         `json:"size"`
	Memory             int            `json:"memory"`
	CPU                int            `json:"cpu"`
	Image              string         `json:"image"`
	Tags               []string       `json:"tags"`
	InstanceID         uint           `json:"instance_id"`
	InstanceIndex      int            `json:"instance_index,omitempty"` // task payloads only
	PublicIP           string         `json:"public_ip"`
	VolumeIDs          []string       `json:"volume_ids,omitempty"`
	VolumeDetails      []VolumeDetail `json:"volume_details,omitempty"`
	ProjectName        string         `json:"project_name"`
	NumberOfInstances  int            `json:"number_of_instances"`
	Provision          bool           `json:"provision"`
	PayloadPath        string         `json:"payload_path,omitempty"`
	ExecutePayload     bool           `json:"execute_payload,omitempty"`
	Volumes            []VolumeConfig `json:"volumes"`
	SSHKeyType         string         `json:"ssh_key_type,omitempty"`
	SSHKeyPath         string         `json:"ssh_key_path,omitempty"`
	Action             string         `json:"action"`
	ProviderInstanceID int            `json:"provider_instance_id"`
	LastTaskID         uint           `json:"last_task_id"`
}

// DeleteInstancesRequest is the body of DELETE /api/v1/instances.
type DeleteInstancesRequest struct {
	OwnerID     uint   `json:"owner_id"`
	ProjectName string `json:"project_name"`
	InstanceIDs []uint `json:"instance_ids"`
}

// Instance is the wire form of an instance row.
type Instance struct {
	ID                 uint           `json:"ID"`
	CreatedAt          time.Time      `json:"CreatedAt"`
	UpdatedAt          time.Time      `json:"UpdatedAt"`
	DeletedAt          *time.Time     `json:"DeletedAt"`
	OwnerID            uint           `json:"owner_id"`
	ProjectID          uint           `json:"project_id"`
	Name               string         `json:"name"`
	ProviderID         string         `json:"provider_id"`
	ProviderInstanceID int            `json:"provider_instance_id"`
	PublicIP           string         `json:"public_ip"`
	Region             string         `json:"region"`
	Size               string         `json:"size"`
	Image              string         `json:"image"`
	Tags               []string       `json:"tags"`
	Status             string         `json:"status"`
	VolumeIDs          []string       `json:"volume_ids"`
	VolumeDetails      []VolumeDetail `json:"volume_details"`
	CreatedAtReal      time.Time      `json:"created_at"`
	PayloadStatus      string         `json:"payload_status"`
}

// Project is the wire form of a project (owner_id is hidden upstream).
type Project struct {
	ID            uint            `json:"ID"`
	CreatedAt     time.Time       `json:"CreatedAt"`
	UpdatedAt     time.Time       `json:"UpdatedAt"`
	DeletedAt     *time.Time      `json:"DeletedAt"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Config        string          `json:"config"`
	Tasks         json.RawMessage `json:"tasks"`
	CreatedAtReal time.Time       `json:"created_at"`
}

// Task is the wire form of a task (owner_id is hidden upstream).
type Task struct {
	ID            uint            `json:"ID"`
	CreatedAt     time.Time       `json:"CreatedAt"`
	UpdatedAt     time.Time       `json:"UpdatedAt"`
	DeletedAt     *time.Time      `json:"DeletedAt"`
	ProjectID     uint            `json:"project_id"`
	InstanceID    uint            `json:"instance_id,omitempty"`
	Action        string          `json:"action"`
	Status        string          `json:"status"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Result        json.RawMessage `json:"result,omitempty"`
	Attempts      uint            `json:"attempts"`
	Logs          string          `json:"logs,omitempty"`
	Error         string          `json:"error,omitempty"`
	WebhookURL    string          `json:"webhook_url,omitempty"`
	WebhookSent   bool            `json:"webhook_sent"`
	CreatedAtReal time.Time       `json:"created_at"`
	LockedAt      *time.Time      `json:"locked_at,omitempty"`
	LockExpiry    *time.Time      `json:"lock_expiry,omitempty"`
	Priority      int             `json:"priority"`
}

// User is the wire form of a user; it has no usable timestamps upstream.
type User struct {
	ID            uint       `json:"ID"`
	CreatedAt     time.Time  `json:"CreatedAt"`
	UpdatedAt     time.Time  `json:"UpdatedAt"`
	DeletedAt     *time.Time `json:"DeletedAt"`
	Username      string     `json:"username"`
	Email         string     `json:"email"`
	Role          UserRole   `json:"role"`
	PublicSSHKey  string     `json:"public_ssh_key"`
	CreatedAtText string     `json:"created_at"`
	UpdatedAtText string     `json:"updated_at"`
}

// SSHKey is the wire form of an SSH key (owner_id visible here).
type SSHKey struct {
	ID        uint       `json:"ID"`
	CreatedAt time.Time  `json:"CreatedAt"`
	UpdatedAt time.Time  `json:"UpdatedAt"`
	DeletedAt *time.Time `json:"DeletedAt"`
	Name      string     `json:"name"`
	PublicKey string     `json:"public_key"`
	OwnerID   uint       `json:"owner_id"`
}

// Pagination is upstream's PaginationResponse (all keys always present).
type Pagination struct {
	Total  int `json:"total"`
	Page   int `json:"page"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// ListResponse is upstream's generic {rows, pagination}.
type ListResponse[T any] struct {
	Rows       []T        `json:"rows"`
	Pagination Pagination `json:"pagination"`
}

// PublicIP is one entry of the public-ips list (no id, no name).
type PublicIP struct {
	PublicIP string `json:"public_ip"`
}

// PublicIPsResponse is the body of GET /api/v1/instances/public-ips.
type PublicIPsResponse struct {
	PublicIPs  []PublicIP `json:"public_ips"`
	Pagination Pagination `json:"pagination"`
}

// SlugResponse is the slug envelope; all three keys are always present.
type SlugResponse struct {
	Slug  string `json:"slug"`
	Error string `json:"error"`
	Data  any    `json:"data"`
}

// RPCRequest is the RPC envelope; a non-string id fails decoding as upstream.
type RPCRequest struct {
	Method string `json:"method"`
	Params any    `json:"params"`
	ID     string `json:"id,omitempty"`
}

// RPCResponse is the RPC reply envelope.
type RPCResponse struct {
	Data    any       `json:"data,omitempty"`
	Error   *RPCError `json:"error,omitempty"`
	ID      string    `json:"id,omitempty"`
	Success bool      `json:"success"`
}

// RPCError is the error member of RPCResponse; code equals the HTTP status.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// UserResponse is the result of user.get; user is always present.
type UserResponse struct {
	User       User        `json:"user"`
	Users      []User      `json:"users,omitempty"`
	Pagination *Pagination `json:"pagination,omitempty"`
}

// CreateUserResponse is the result of user.create.
type CreateUserResponse struct {
	ID uint `json:"id"`
}
