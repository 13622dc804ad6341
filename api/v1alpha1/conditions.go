package v1alpha1

// Condition types. Ready/Progressing/Degraded are for people; Reconciling/Stalled mirror them
// for kstatus (Flux, kubectl wait --for=...), which reads only those two.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Condition reasons, one place for all of them.
const (
	ReasonReady                  = "Ready"
	ReasonCreating               = "Creating"
	ReasonProvisioning           = "Provisioning"
	ReasonScaling                = "Scaling"
	ReasonRollingOut             = "RollingOut"
	ReasonTerminating            = "Terminating"
	ReasonReplacing              = "Replacing"
	ReasonAsExpected             = "AsExpected"
	ReasonPaused                 = "Paused"
	ReasonProjectNotReady        = "ProjectNotReady"
	ReasonProjectNotFound        = "ProjectNotFound"
	ReasonInvalidCredentials     = "InvalidCredentials"
	ReasonCredentialsUnavailable = "CredentialsUnavailable"
	ReasonTalisUnavailable       = "TalisUnavailable"
	ReasonTalisRejected          = "TalisRejected"
	ReasonNameReserved           = "NameReserved"
	ReasonInstanceTerminated     = "InstanceTerminatedExternally"
	ReasonProvisioningTimeout    = "ProvisioningTimeout"
	ReasonCreateOutcomeUnknown   = "CreateOutcomeUnknown"
	ReasonDeleting               = "Deleting"
	ReasonWaitingForInstanceSets = "WaitingForInstanceSets"
)
