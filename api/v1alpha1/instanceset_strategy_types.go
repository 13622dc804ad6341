package v1alpha1

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
