package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TalisInstanceSetSpec declares a number of identical Talis instances.
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || !has(self.strategy.rollingUpdate) || (has(self.replicas) ? self.replicas : 1) + (has(self.strategy.rollingUpdate.maxSurge) ? self.strategy.rollingUpdate.maxSurge : 1) <= 1500",message="replicas + strategy.rollingUpdate.maxSurge must be at most 1500: every instance of a rollout is listed in status, which must fit in one etcd object"
type TalisInstanceSetSpec struct {
	// ProjectRef names the TalisProject, in the same namespace, that holds the instances.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="projectRef is immutable: instances cannot move between projects"
	ProjectRef LocalObjectReference `json:"projectRef"`

	// Replicas is the number of instances wanted, from 0 to 1000.
	// Defaults to 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Template describes every instance.
	// Talis cannot change an instance: a template change replaces instances as the strategy says.
	Template InstanceTemplate `json:"template"`

	// Strategy replaces instances after a template change.
	// Defaults to a RollingUpdate with maxSurge 1 and maxUnavailable 0.
	// +kubebuilder:default={type: RollingUpdate}
	// +optional
	Strategy InstanceSetStrategy `json:"strategy,omitempty"`

	// ProvisioningTimeout is how long an instance may take to become ready before it is replaced.
	// A duration of at least 1s, written as Go durations are (90s, 15m, 1h30m).
	// Defaults to 15m.
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:XValidation:rule="size(self) <= 32",message="provisioningTimeout must be at most 32 characters"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1s')",message="provisioningTimeout must be a duration of at least 1s, such as 90s, 15m or 1h30m"
	// +optional
	ProvisioningTimeout *metav1.Duration `json:"provisioningTimeout,omitempty"`

	// ReplacementBackoffLimit caps the wait before replacing instances whose create failed in Talis.
	// The wait doubles with each failed create attempt in a row, from 10s up to this limit.
	// A duration from 1s to 24h, written as Go durations are (30s, 10m, 1h).
	// Defaults to 10m.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:XValidation:rule="size(self) <= 32",message="replacementBackoffLimit must be at most 32 characters"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="replacementBackoffLimit must be a duration from 1s to 24h, such as 30s, 10m or 1h"
	// +optional
	ReplacementBackoffLimit *metav1.Duration `json:"replacementBackoffLimit,omitempty"`

	// DeletionPolicy says whether deleting this object terminates its instances.
	// Delete terminates them; Orphan leaves them running in Talis, where a new set of the same namespace and name adopts them.
	// Defaults to Delete.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Outputs publishes the set's instances (names, Talis IDs, public IPs, ready state) into a ConfigMap, for tools such as Ansible.
	// +optional
	Outputs *InstanceSetOutputs `json:"outputs,omitempty"`
}

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

// StrategyType is how instances are replaced after a template change.
// +kubebuilder:validation:Enum=RollingUpdate;Recreate
type StrategyType string

const (
	// RollingUpdateStrategy replaces instances a few at a time, keeping the set available.
	RollingUpdateStrategy StrategyType = "RollingUpdate"
	// RecreateStrategy terminates every outdated instance before creating new ones.
	RecreateStrategy StrategyType = "Recreate"
)

// InstanceSetStrategy replaces instances after a template change.
// +kubebuilder:validation:XValidation:rule="!has(self.rollingUpdate) || self.type == 'RollingUpdate'",message="rollingUpdate may only be set when type is RollingUpdate"
type InstanceSetStrategy struct {
	// Type of replacement: RollingUpdate replaces a few instances at a time, as rollingUpdate bounds; Recreate terminates every outdated instance before creating new ones.
	// Defaults to RollingUpdate.
	// +kubebuilder:default=RollingUpdate
	// +optional
	Type StrategyType `json:"type,omitempty"`

	// RollingUpdate tunes a RollingUpdate.
	// +optional
	RollingUpdate *RollingUpdate `json:"rollingUpdate,omitempty"`
}

// RollingUpdate bounds how far a rollout may go above and below the desired replicas.
// +kubebuilder:validation:XValidation:rule="self.maxSurge > 0 || self.maxUnavailable > 0",message="maxSurge and maxUnavailable cannot both be 0"
type RollingUpdate struct {
	// MaxSurge is how many instances may exist above replicas during a rollout; replicas + maxSurge is at most 1500.
	// Defaults to 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=1
	// +optional
	MaxSurge int32 `json:"maxSurge"`

	// MaxUnavailable is how many instances may be missing or not ready during a rollout.
	// Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +kubebuilder:default=0
	// +optional
	MaxUnavailable int32 `json:"maxUnavailable"`
}

// TalisInstance is one instance as last observed in Talis.
type TalisInstance struct {
	// ID is the Talis instance ID.
	ID int64 `json:"id"`

	// Name given to the instance in Talis (its first 64 bytes).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Name string `json:"name,omitempty"`

	// State is the Talis status: pending, created, provisioning, ready or terminated.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	State string `json:"state,omitempty"`

	// PublicIP of the instance, once the provider reports it.
	// +kubebuilder:validation:MaxLength=45
	// +optional
	PublicIP string `json:"publicIP,omitempty"`

	// ProviderInstanceID is the cloud's ID (e.g. the droplet ID).
	// +optional
	ProviderInstanceID int64 `json:"providerInstanceID,omitempty"`

	// TemplateHash identifies the template the instance was created from.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`

	// CreateAttempt is the create call that made the instance.
	// +optional
	CreateAttempt int64 `json:"createAttempt,omitempty"`

	// CreatedAt is when Talis created the instance.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`

	// ReadyAt is when the operator first saw the instance ready.
	// +optional
	ReadyAt *metav1.Time `json:"readyAt,omitempty"`

	// CreateTask is the state of the instance's create task in Talis once it can no longer write the instance: completed or failed, terminated with no worker holding it, or, for an instance already seen terminated, running with its worker's lock expired.
	// Only looked up for instances that are late or terminated before their create finished, and only when Talis shows tasks to the project's owner (4294967295).
	// +kubebuilder:validation:MaxLength=16
	// +optional
	CreateTask string `json:"createTask,omitempty"`

	// CreateTaskSeenAt is when the operator saw that the instance's create task could no longer write it. A list that started later and still shows the instance terminated ends the watch of an instance terminated before its create finished.
	// +optional
	CreateTaskSeenAt *metav1.Time `json:"createTaskSeenAt,omitempty"`

	// FailedAt is when Talis's create task for the instance failed; Talis never retries it, so the instance is replaced.
	// +optional
	FailedAt *metav1.Time `json:"failedAt,omitempty"`

	// Failure is the start of the failed task's error, as Talis reported it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Failure string `json:"failure,omitempty"`

	// TerminatingSince is when the operator decided to remove the instance.
	// Talis can lose a terminate sent while the instance's create is still running, so the call waits until the instance is ready, its create task has finished, or it is past its provisioning timeout.
	// +optional
	TerminatingSince *metav1.Time `json:"terminatingSince,omitempty"`

	// TerminateRequestedAt is when the terminate call was last sent.
	// +optional
	TerminateRequestedAt *metav1.Time `json:"terminateRequestedAt,omitempty"`

	// TerminatedAt is when Talis was first seen to report the instance terminated while its create may still have been running.
	// Talis lets a finishing create write its state over a terminate, so the entry stays (and the terminate is repeated if the instance comes back) until that can no longer happen:
	// until a list that started after its create task was seen done (or the lock of the worker running it expired) still shows it terminated; for owners Talis hides tasks from, until its provisioning timeout plus the create window after it was first seen, and at least --terminate-settle after this.
	// +optional
	TerminatedAt *metav1.Time `json:"terminatedAt,omitempty"`
}

// PendingCreate records a create call before it is made, so that after a crash or an ambiguous error the operator looks its outcome up in Talis instead of creating again.
type PendingCreate struct {
	// Attempt numbers the call; instances it creates carry it as a tag.
	Attempt int64 `json:"attempt"`

	// Count of instances requested.
	Count int32 `json:"count"`

	// TemplateHash of the requested instances.
	// +kubebuilder:validation:MaxLength=16
	TemplateHash string `json:"templateHash"`

	// RequestedAt is when the call was about to be made.
	RequestedAt metav1.Time `json:"requestedAt"`

	// SendBy is the deadline the sending manager gave the call, on its clock: it was never sent later.
	// +optional
	SendBy *metav1.Time `json:"sendBy,omitempty"`

	// LandBy is when, on the sending manager's clock, the call's instances may have appeared in Talis at the latest (SendBy plus the time Talis may take).
	// Whichever manager judges the outcome waits for the later of this and its own window, plus the clock skew allowed between managers, before it may conclude that the call created nothing.
	// Absent in intents written by older managers.
	// +optional
	LandBy *metav1.Time `json:"landBy,omitempty"`
}

// CreateFailures is the replacement backoff of a set whose instances fail in Talis.
type CreateFailures struct {
	// Attempts is the number of create attempts in a row with a failed instance.
	Attempts int32 `json:"attempts"`

	// SameError is how many of them in a row failed with the same error; at the manager's limit the set stops creating (Stalled, ProvisioningFailing).
	SameError int32 `json:"sameError"`

	// LastAttempt is the create attempt whose failure was counted last.
	LastAttempt int64 `json:"lastAttempt"`

	// LastError is the start of the last failed task's error, as Talis reported it.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	LastError string `json:"lastError,omitempty"`

	// TemplateHash is the template the failures were counted for.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`

	// Generation is the set's generation when the last failure was counted; once stalled, any later spec edit tries again.
	// +optional
	Generation int64 `json:"generation,omitempty"`

	// NextCreateAfter is when replacements may be created again.
	// +optional
	NextCreateAfter *metav1.Time `json:"nextCreateAfter,omitempty"`

	// Rejected: Talis refused the last create request itself (a 400 with lastError as its message), which no retry of the same request can change.
	// No more are made until the spec changes.
	// +optional
	Rejected bool `json:"rejected,omitempty"`
}

// TalisInstanceSetStatus is the observed state of a TalisInstanceSet.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.identity) || (has(self.identity) && self.identity == oldSelf.identity)",message="identity cannot change once recorded: the set's instances carry it"
type TalisInstanceSetStatus struct {
	// Replicas is the number of live (not terminating) instances.
	// +optional
	Replicas int32 `json:"replicas"`

	// ReadyReplicas is the number of live instances that are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// UpdatedReplicas is the number of live instances made from the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`

	// TemplateHash identifies the current template.
	// +kubebuilder:validation:MaxLength=16
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`

	// ProjectName is the Talis project the instances live in.
	// +kubebuilder:validation:MaxLength=320
	// +optional
	ProjectName string `json:"projectName,omitempty"`

	// Identity is the set's tio-set tag value, recorded before its first create.
	// Sets created before cluster identities existed keep the identity of their namespace and name.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{20}$`
	// +optional
	Identity string `json:"identity,omitempty"`

	// Instances the set owns, including ones being terminated, in ID order.
	// At most 1600: no create takes it past 1500, and the rest is room for instances found in Talis unasked (adopted from a predecessor, or a late create).
	// Atomic: only the operator writes it, and per-entry field ownership would cost the API server a managedFields diff over every instance on each status write.
	// +kubebuilder:validation:MaxItems=1600
	// +listType=atomic
	// +optional
	Instances []TalisInstance `json:"instances,omitempty"`

	// PublicIPs of the live instances.
	// +kubebuilder:validation:MaxItems=1600
	// +kubebuilder:validation:items:MaxLength=45
	// +listType=atomic
	// +optional
	PublicIPs []string `json:"publicIPs,omitempty"`

	// PublicIPSummary is publicIPs for people: the first few, then how many more (e.g. "203.0.113.1, 203.0.113.2 +18 more"). kubectl get -o wide prints it.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	PublicIPSummary string `json:"publicIPSummary,omitempty"`

	// Selector is the label selector of the scale subresource, so that a HorizontalPodAutoscaler or KEDA can target the set.
	// Instances are not Kubernetes objects, so it selects nothing: scale on Object or External metrics.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Selector string `json:"selector,omitempty"`

	// LastCreateAttempt is the number of the last create call recorded; it only grows.
	// +optional
	LastCreateAttempt int64 `json:"lastCreateAttempt,omitempty"`

	// PendingCreate is a create call whose outcome is not yet known.
	// +optional
	PendingCreate *PendingCreate `json:"pendingCreate,omitempty"`

	// CreateFailures counts the create attempts in a row whose instances failed in Talis, for the replacement backoff.
	// It is cleared when an instance of the current template becomes ready or the template changes.
	// +optional
	CreateFailures *CreateFailures `json:"createFailures,omitempty"`

	// Conditions: Ready, Synced, Progressing, Degraded, and kstatus's Reconciling and Stalled (docs/conditions.md).
	// While the infra.talis.io/paused annotation is "true", Synced is False and Ready's reason is Paused.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:XValidation:rule="self.all(c, size(c.message) <= 4096)",message="condition messages are at most 4096 characters"
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Reason is the reason of the condition that needs attention first: Stalled's while True, else Synced's while False, else Degraded's while True, else Ready's.
	// kubectl get prints it as STATUS, so an object that needs a person never reads as fine.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Reason string `json:"reason,omitempty"`

	// ObservedGeneration is the generation the status reflects.
	// The API server sets 0 on a new object, so that kstatus (Flux, kubectl wait) reads it as not yet observed from its first instant.
	// +kubebuilder:default=0
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Bounds that keep a set's status within what one etcd object holds (1.5 MiB by default); the markers above repeat them, and test/reliability measures the largest status they allow.
const (
	// MaxPlannedInstances bounds replicas + maxSurge and the status entries a create may lead to.
	MaxPlannedInstances = 1500
	// MaxStatusInstances is status.instances' maxItems.
	MaxStatusInstances = 1600
	// MaxConditionMessage is the longest condition message the CRD accepts.
	MaxConditionMessage = 4096
)

const (
	// DeleteInstancesAnnotation lists Talis instance IDs (comma separated) to remove first on scale down.
	DeleteInstancesAnnotation = "infra.talis.io/delete-instances"

	// InstanceSetLabel is the label key of status.selector; its value is the set's name (hashed when longer than a label value may be).
	InstanceSetLabel = "infra.talis.io/instanceset"
)

// TalisInstanceSet keeps a number of identical Talis instances running.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=tis;tset,categories=talis
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.projectRef.name`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedReplicas`,priority=1
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="IPs",type=string,JSONPath=`.status.publicIPSummary`,priority=1
type TalisInstanceSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TalisInstanceSetSpec `json:"spec"`
	// +kubebuilder:default={}
	Status TalisInstanceSetStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TalisInstanceSetList is a list of TalisInstanceSets.
type TalisInstanceSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TalisInstanceSet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TalisInstanceSet{}, &TalisInstanceSetList{})
}
