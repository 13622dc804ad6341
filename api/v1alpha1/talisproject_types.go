package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TalisProjectSpec declares a Talis project.
// +kubebuilder:validation:XValidation:rule="has(self.ownerID) == has(oldSelf.ownerID)",message="ownerID cannot be added or removed after creation"
// +kubebuilder:validation:XValidation:rule="has(self.description) == has(oldSelf.description) && (!has(self.description) || self.description == oldSelf.description)",message="description is immutable: Talis cannot update a project"
// +kubebuilder:validation:XValidation:rule="(has(self.connection) && has(self.connection.url)) == (has(oldSelf.connection) && has(oldSelf.connection.url)) && (!has(self.connection) || !has(self.connection.url) || self.connection.url == oldSelf.connection.url)",message="connection.url cannot be set, changed or removed after creation: the project and its instances live at the endpoint it was created with"
type TalisProjectSpec struct {
	// ProjectName is the project's name in Talis.
	// Talis names are global across owners and stay reserved after deletion.
	// Defaults to "<namespace>.<name>.<cluster>" (cluster: a hash of the manager's --cluster-id; long names are shortened with a hash).
	// It may be set, changed or removed until a Talis project has been created for this object (status.projectID is set), and is immutable after that.
	// A project that exists in Talis and was not created by this object is only used with the infra.talis.io/adopt annotation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`
	// +optional
	ProjectName string `json:"projectName,omitempty"`

	// Description of the project.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// Config is a JSON object stored with the project (Talis expects {"resources":{},"settings":{}}).
	// Talis has no project update, so it is immutable once the Talis project has been created (status.projectID is set).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Config *apiextensionsv1.JSON `json:"config,omitempty"`

	// OwnerID is the Talis owner of the project and its instances.
	// Defaults to the manager's --default-owner-id (4294967295, the admin owner: the only owner whose tasks Talis shows).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="ownerID is immutable"
	// +optional
	OwnerID *int64 `json:"ownerID,omitempty"`

	// Connection overrides the manager's Talis endpoint and credentials.
	// +optional
	Connection *TalisConnection `json:"connection,omitempty"`

	// DeletionPolicy says whether deleting this object deletes the project in Talis: Delete deletes it, Orphan leaves it.
	// With Delete, the project is kept while it has live instances no set owns (ProjectHasLiveInstances), since Talis would leave them running and unreachable.
	// Defaults to Delete.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// TalisConnection says how to reach Talis.
type TalisConnection struct {
	// URL of the Talis API, including a gateway path prefix if any (e.g. https://talis.example.com/talis).
	// Defaults to the manager's --talis-url.
	// Immutable; it must be one of the manager's --allowed-talis-urls, and a URL other than the manager's needs apiKeySecretRef.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))",message="url must be an http:// or https:// URL"
	// +optional
	URL string `json:"url,omitempty"`

	// APIKeySecretRef selects the Secret key holding the Talis API key (sent as header "apikey").
	// The Secret must carry the label infra.talis.io/credentials=true.
	// Defaults to the manager's key, which is only ever sent to the manager's URL.
	// +optional
	APIKeySecretRef *SecretKeyReference `json:"apiKeySecretRef,omitempty"`
}

// TalisProjectStatus is the observed state of a TalisProject.
type TalisProjectStatus struct {
	// ProjectID is the Talis project ID.
	// +optional
	ProjectID int64 `json:"projectID,omitempty"`

	// ProjectName is the name the project has in Talis; recorded before it is created.
	// +kubebuilder:validation:MaxLength=320
	// +optional
	ProjectName string `json:"projectName,omitempty"`

	// OwnerID is the Talis owner the project was created for.
	// +optional
	OwnerID int64 `json:"ownerID,omitempty"`

	// Endpoint is the Talis URL the project was created at; the project and its sets keep using it whatever later changes to the spec or the manager's flags say.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// SweepAfterID is where the sweep of stray instances starts: it only ever terminates instances with a higher Talis ID.
	// The operator records 0 when it creates the Talis project; when the object takes over one that exists (takes it back, adopts it) or first runs with an operator that sweeps, the highest ID among the project's live instances in the first list it takes after that:
	// what existed then may have been left on purpose by a predecessor, and is never swept.
	// Unset until then, and again after OrphanedSets overflowed, which re-records it from a new list.
	// +kubebuilder:validation:Minimum=0
	// +optional
	SweepAfterID *int64 `json:"sweepAfterID,omitempty"`

	// OrphanedSets are the TalisInstanceSets of this project deleted with deletionPolicy Orphan: their instances were left running on purpose, and the sweep of stray instances never terminates an instance tagged for one of them.
	// An entry is written before the set's finalizer is removed; it goes when a set of the same name has taken the instances over, or when a list taken an hour or more after the deletion shows none of them live.
	// At most 256: a further one replaces the oldest and clears sweepAfterID, so that everything running then stays protected.
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=identity
	// +optional
	OrphanedSets []OrphanedSet `json:"orphanedSets,omitempty"`

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

// OrphanedSet is a TalisInstanceSet deleted with deletionPolicy Orphan, whose instances may still run in the project's Talis project.
type OrphanedSet struct {
	// Identity is the set's tio-set tag value (its status.identity).
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{20}$`
	// +required
	Identity string `json:"identity"`

	// Name of the set.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// OrphanedAt is when the set's deletion left its instances.
	// +required
	OrphanedAt metav1.Time `json:"orphanedAt"`
}

// Rules that depend on whether the Talis project exists sit at the root, the only place that sees status; oldSelf.status is the stored status in spec and status writes alike.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spec) || !has(oldSelf.status) || !has(oldSelf.status.projectID) || (has(self.spec.projectName) == has(oldSelf.spec.projectName) && (!has(self.spec.projectName) || self.spec.projectName == oldSelf.spec.projectName))",message="spec.projectName cannot be set, changed or removed once the Talis project has been created (status.projectID is set): Talis cannot rename a project"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spec) || !has(oldSelf.status) || !has(oldSelf.status.projectID) || (has(self.spec.config) == has(oldSelf.spec.config) && (!has(self.spec.config) || (self.spec.config == oldSelf.spec.config && oldSelf.spec.config == self.spec.config)))",message="spec.config cannot be changed once the Talis project has been created (status.projectID is set): Talis has no project update, so the change would never reach it; create a new TalisProject for a new config"

// TalisProject is a project in Talis; TalisInstanceSets create their instances in it.
// A project made before spec was required may have none: one added later must not carry the fields that were fixed (to their defaults) when the project was created.
// +kubebuilder:validation:XValidation:rule="has(oldSelf.spec) || !has(self.spec) || (!has(self.spec.projectName) && !has(self.spec.ownerID) && !has(self.spec.description))",message="this project was created without spec: one added now cannot set projectName, ownerID or description, which Talis fixed at creation"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tp;tproj,categories=talis
// +kubebuilder:printcolumn:name="Talis-Name",type=string,JSONPath=`.status.projectName`
// +kubebuilder:printcolumn:name="ID",type=integer,JSONPath=`.status.projectID`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TalisProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TalisProjectSpec `json:"spec"`
	// +kubebuilder:default={}
	Status TalisProjectStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TalisProjectList is a list of TalisProjects.
type TalisProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TalisProject `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TalisProject{}, &TalisProjectList{})
}
