package v1alpha1

// Condition types (docs/conditions.md).
// Ready says whether the fleet is what the spec asks, as last observed; Synced whether the last attempt to reconcile with Talis worked.
// Reconciling and Stalled are for kstatus (Flux, kubectl wait), which reads only those two: Stalled is True only for what needs a person.
const (
	ConditionReady       = "Ready"
	ConditionSynced      = "Synced"
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
	ReasonRollingOut             = "RollingOut"
	ReasonTerminating            = "Terminating"
	ReasonAsExpected             = "AsExpected"
	ReasonPaused                 = "Paused"
	ReasonReconcileSuccess       = "ReconcileSuccess"
	ReasonProjectNotReady        = "ProjectNotReady"
	ReasonWaitingForProject      = "WaitingForProject"
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
	// ReasonProjectHasLiveInstances stops a deleting project whose Talis project still has live
	// instances: Talis would leave them running where no call by project can reach them.
	ReasonProjectHasLiveInstances = "ProjectHasLiveInstances"
	// ReasonStrayInstances says a project's Talis project has live instances tagged for TalisInstanceSets that no longer exist
	// (a create that Talis applied after its set was gone); the project's sweep terminates them.
	ReasonStrayInstances    = "StrayInstances"
	ReasonOutputsNotOwned   = "OutputsConfigMapNotOwned"
	ReasonOutputsNotWritten = "OutputsNotWritten"
)

// Reasons from Talis's tasks.
const (
	// ReasonInstanceFailed says Talis's create task of an instance failed; the message has the server's error.
	// The instance is terminated and replaced after a backoff.
	ReasonInstanceFailed = "InstanceFailed"
	// ReasonProvisioningFailing says create attempts in a row all failed in Talis with the same error.
	// No more are made until the template changes.
	ReasonProvisioningFailing = "ProvisioningFailing"
)
