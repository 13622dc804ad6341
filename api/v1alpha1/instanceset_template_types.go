package v1alpha1

// Provider is a Talis compute provider that the Talis worker can create instances with.
// +kubebuilder:validation:Enum=do;ximera;do-mock;digitalocean-mock
type Provider string

// InstanceTemplate is the Talis instance request shared by all instances of a set.
// +kubebuilder:validation:XValidation:rule="has(self.size) || (has(self.cpu) && has(self.memory))",message="either size, or both cpu and memory, must be set"
// +kubebuilder:validation:XValidation:rule="self.provider != 'ximera' || (has(self.cpu) && has(self.memory))",message="cpu and memory are required for the ximera provider"
// +kubebuilder:validation:XValidation:rule="self.provider != 'ximera' || self.image.matches('^[0-9]+$')",message="image must be a numeric OS id for the ximera provider"
// +kubebuilder:validation:XValidation:rule="self.provider != 'ximera' || size(self.volumes) == 1",message="the ximera provider supports exactly one volume"
// +kubebuilder:validation:XValidation:rule="self.volumes.all(v, !has(v.region) || v.region == self.region)",message="a volume's region must be empty or equal to the instance region"
// +kubebuilder:validation:XValidation:rule="!has(self.payloadPath) || (has(self.provision) && self.provision)",message="provision must be true when payloadPath is set"
// +kubebuilder:validation:XValidation:rule="!has(self.executePayload) || !self.executePayload || has(self.payloadPath)",message="payloadPath is required when executePayload is true"
type InstanceTemplate struct {
	// Provider creates the instances.
	Provider Provider `json:"provider"`

	// Region, e.g. nyc1.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Region string `json:"region"`

	// Size slug, e.g. s-1vcpu-1gb.
	// Required unless cpu and memory are set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Size string `json:"size,omitempty"`

	// Image slug or, for ximera, the numeric OS id.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Image string `json:"image"`

	// CPU count (ximera).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	CPU *int32 `json:"cpu,omitempty"`

	// Memory in MB (ximera).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16777216
	// +optional
	Memory *int32 `json:"memory,omitempty"`

	// Tags added to every instance; DigitalOcean allows letters, digits, ':', '-' and '_'.
	// The prefix "tio-" is reserved for the operator's own tags.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9:_-]+$`
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.all(t, !t.startsWith('tio-'))",message="tags starting with 'tio-' are reserved for talis-operator"
	// +listType=set
	// +optional
	Tags []string `json:"tags,omitempty"`

	// Volumes to create and attach; Talis requires at least one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Volumes []Volume `json:"volumes"`

	// Provision runs Talis's Ansible provisioning after the instance is created.
	// +optional
	Provision bool `json:"provision,omitempty"`

	// PayloadPath is a file on the Talis server copied to the instance (needs provision).
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	PayloadPath string `json:"payloadPath,omitempty"`

	// ExecutePayload runs the payload after copying it.
	// +optional
	ExecutePayload bool `json:"executePayload,omitempty"`

	// SSHKeyType is sent to Talis as ssh_key_type.
	// Talis today stores it with the create task and does nothing else with it: it does not choose the instance's SSH key.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	SSHKeyType string `json:"sshKeyType,omitempty"`

	// SSHKeyPath is sent to Talis as ssh_key_path.
	// Talis today stores it with the create task and does nothing else with it: it does not choose the instance's SSH key.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	SSHKeyPath string `json:"sshKeyPath,omitempty"`
}

// Volume is a block volume attached to each instance.
type Volume struct {
	// Name of the volume.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`

	// SizeGB is the volume size in GB.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16384
	SizeGB int32 `json:"sizeGB"`

	// Region must be empty or the instance's region.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Region string `json:"region,omitempty"`

	// Filesystem to format the volume with, e.g. ext4.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Filesystem string `json:"filesystem,omitempty"`

	// MountPoint on the instance.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	MountPoint string `json:"mountPoint,omitempty"`
}
