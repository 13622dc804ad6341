package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

// Bounds that keep a set's status within what one etcd object holds (1.5 MiB by default); the CRD markers on the spec and status repeat them, and test/reliability measures the largest status they allow.
const (
	// MaxPlannedInstances bounds replicas + maxSurge and the status entries a create may lead to.
	MaxPlannedInstances = 1500
	// MaxStatusInstances is status.instances' maxItems.
	MaxStatusInstances = 1600
	// MaxConditionMessage is the longest condition message the CRD accepts.
	MaxConditionMessage = 4096
)
