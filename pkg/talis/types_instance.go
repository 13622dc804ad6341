package talis

import "time"

// InstanceStatus is the instance lifecycle state, a string on the wire.
// There is no failed state: a failed create leaves the instance in whatever
// state it had reached; only its (often invisible) task says it failed.
type InstanceStatus string

const (
	InstanceStatusUnknown      InstanceStatus = "unknown"
	InstanceStatusPending      InstanceStatus = "pending"
	InstanceStatusCreated      InstanceStatus = "created"
	InstanceStatusProvisioning InstanceStatus = "provisioning"
	InstanceStatusReady        InstanceStatus = "ready"
	InstanceStatusTerminated   InstanceStatus = "terminated"
)

// Valid reports whether the server accepts s as a status filter.
func (s InstanceStatus) Valid() bool {
	switch s {
	case InstanceStatusUnknown, InstanceStatusPending, InstanceStatusCreated,
		InstanceStatusProvisioning, InstanceStatusReady, InstanceStatusTerminated:
		return true
	}
	return false
}

// PayloadStatus is set once at creation and never advanced by the server.
type PayloadStatus string

const (
	PayloadStatusNone             PayloadStatus = "none"
	PayloadStatusPendingCopy      PayloadStatus = "pending_copy"
	PayloadStatusCopyFailed       PayloadStatus = "copy_failed"
	PayloadStatusCopied           PayloadStatus = "copied"
	PayloadStatusPendingExecution PayloadStatus = "pending_execution"
	PayloadStatusExecutionFailed  PayloadStatus = "execution_failed"
	PayloadStatusExecuted         PayloadStatus = "executed"
)

// Instance is the server's instance row. The capitalised keys come from an
// untagged embedded GORM model; "CreatedAt" is always the zero time there, so
// the real creation time is CreatedAt (key "created_at").
type Instance struct {
	ID             uint       `json:"ID"`
	ModelCreatedAt time.Time  `json:"CreatedAt"`
	UpdatedAt      time.Time  `json:"UpdatedAt"`
	DeletedAt      *time.Time `json:"DeletedAt"`

	OwnerID            uint            `json:"owner_id"`
	ProjectID          uint            `json:"project_id"`
	Name               string          `json:"name"`
	ProviderID         string          `json:"provider_id"`
	ProviderInstanceID int             `json:"provider_instance_id"`
	PublicIP           string          `json:"public_ip"`
	Region             string          `json:"region"`
	Size               string          `json:"size"`
	Image              string          `json:"image"` // never persisted: always ""
	Tags               []string        `json:"tags"`
	Status             InstanceStatus  `json:"status"`
	VolumeIDs          []string        `json:"volume_ids"`
	VolumeDetails      []VolumeDetails `json:"volume_details"`
	CreatedAt          time.Time       `json:"created_at"`
	PayloadStatus      PayloadStatus   `json:"payload_status"`
}

// VolumeConfig asks for one volume. The server requires at least one per
// instance request, whatever the provider.
type VolumeConfig struct {
	Name       string `json:"name"`
	SizeGB     int    `json:"size_gb"`
	Region     string `json:"region"` // "" or the instance's region
	FileSystem string `json:"filesystem"`
	MountPoint string `json:"mount_point"`
}

// VolumeDetails describes a created volume (DigitalOcean only).
type VolumeDetails struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Region     string `json:"region"`
	SizeGB     int    `json:"size_gb"`
	MountPoint string `json:"mount_point"`
}

// InstanceRequest is one element of the CreateInstance body. The server has
// no ssh_key_name field (upstream examples send one; it is dropped), and
// SSHKeyType/SSHKeyPath are stored but unused.
type InstanceRequest struct {
	OwnerID           uint           `json:"owner_id"`
	Provider          string         `json:"provider"`
	Region            string         `json:"region"`
	Size              string         `json:"size"`
	Memory            int            `json:"memory"` // Ximera only
	CPU               int            `json:"cpu"`    // Ximera only
	Image             string         `json:"image"`
	Tags              []string       `json:"tags"`
	ProjectName       string         `json:"project_name"`
	Name              string         `json:"name,omitempty"` // N>1 → name-1 … name-N
	NumberOfInstances int            `json:"number_of_instances"`
	Provision         bool           `json:"provision"`
	PayloadPath       string         `json:"payload_path,omitempty"` // path on the server
	ExecutePayload    bool           `json:"execute_payload,omitempty"`
	Volumes           []VolumeConfig `json:"volumes"`
	SSHKeyType        string         `json:"ssh_key_type,omitempty"`
	SSHKeyPath        string         `json:"ssh_key_path,omitempty"`
}

// DeleteInstancesRequest is the DeleteInstances body. Ids outside the project
// are silently ignored by the server.
type DeleteInstancesRequest struct {
	OwnerID     uint   `json:"owner_id"`
	ProjectName string `json:"project_name"`
	InstanceIDs []uint `json:"instance_ids"`
}

// PublicIP is one entry of PublicIPsResponse; it carries no instance id.
type PublicIP struct {
	PublicIP string `json:"public_ip"`
}

// PublicIPsResponse is the body of GET /instances/public-ips.
type PublicIPsResponse struct {
	PublicIPs  []PublicIP `json:"public_ips"`
	Pagination Pagination `json:"pagination"`
}
