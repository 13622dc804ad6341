package v1alpha1

// Multi-tenancy markers: what a Secret or a TalisProject must carry for the operator to use it.
const (
	// CredentialsLabel must be "true" on a Secret before the operator reads it.
	// Only someone allowed to write the Secret can set it, so a TalisProject cannot point the operator at an application's Secret.
	CredentialsLabel = "infra.talis.io/credentials"

	// AdoptAnnotation ("true") lets a TalisProject take over an existing Talis project that it did not create.
	// Without it, such a project is never used or deleted.
	AdoptAnnotation = "infra.talis.io/adopt"
)

// Reasons of the multi-tenancy checks.
const (
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
	ReasonSecretRequired     = "SecretRequired"
	ReasonSecretNotLabeled   = "SecretNotLabeled"
	ReasonEndpointChanged    = "EndpointChanged"
	ReasonOwnerChanged       = "OwnerChanged"
	ReasonNotOwned           = "ProjectNotOwned"
	ReasonProjectInUse       = "ProjectInUse"
	ReasonNameForbidden      = "ProjectNameForbidden"
	// ReasonIdentityNotDerived: a set's status.identity is not one the operator derives for it.
	ReasonIdentityNotDerived = "IdentityNotDerived"
)
