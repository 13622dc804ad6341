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
