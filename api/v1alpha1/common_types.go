package v1alpha1

// DeletionPolicy says what happens in Talis when the Kubernetes object is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the Talis resources with the object.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the Talis resources running; a new object with the same namespace and name adopts them.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// SecretKeyReference selects one key of a Secret in the object's namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key within the Secret's data.
	// Defaults to apiKey.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:default=apiKey
	// +optional
	Key string `json:"key,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

const (
	// PausedAnnotation stops all Talis calls for the object while its value is "true"; "false" or no annotation does not pause, and any other value pauses with a warning.
	PausedAnnotation = "infra.talis.io/paused"

	// Finalizer guards the Talis resources of both kinds.
	Finalizer = "infra.talis.io/finalizer"
)
