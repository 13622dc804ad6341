package talis

// RPC method names, exactly as the server dispatches them.
const (
	RPCProjectCreate        = "project.create"
	RPCProjectGet           = "project.get"
	RPCProjectList          = "project.list"
	RPCProjectDelete        = "project.delete"
	RPCProjectListInstances = "project.listInstances"
	RPCTaskGet              = "task.get"
	RPCTaskList             = "task.list"
	RPCTaskTerminate        = "task.terminate"
	RPCTaskUpdateStatus     = "task.updateStatus" // recognised, never implemented
	RPCUserCreate           = "user.create"
	RPCUserGet              = "user.get"
	RPCUserGetByID          = "user.get.id"
	RPCUserDelete           = "user.delete"
	RPCSSHKeyCreate         = "sshkey.create"
	RPCSSHKeyList           = "sshkey.list"
	RPCSSHKeyDelete         = "sshkey.delete"
)

// ProjectCreateParams: Config, when set, must be a JSON object as text.
type ProjectCreateParams struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Config      string `json:"config,omitempty"`
	OwnerID     uint   `json:"owner_id"`
}

type ProjectGetParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}

// ProjectListParams: Page starts at 1; 0 means 1.
type ProjectListParams struct {
	Page    int  `json:"page,omitempty"`
	OwnerID uint `json:"owner_id"`
}

type ProjectDeleteParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}

type ProjectListInstancesParams struct {
	Name    string `json:"name"`
	Page    int    `json:"page,omitempty"`
	OwnerID uint   `json:"owner_id"`
}

// TaskGetParams: OwnerID must be non-zero but is ignored (AdminOwnerID is used).
type TaskGetParams struct {
	TaskID  uint `json:"task_id"`
	OwnerID uint `json:"owner_id"`
}

// TaskListParams: the project key really is camelCase on the wire.
type TaskListParams struct {
	ProjectName string `json:"projectName"`
	OwnerID     uint   `json:"owner_id"`
	Page        int    `json:"page,omitempty"`
}

type TaskTerminateParams struct {
	TaskID  uint `json:"task_id"`
	OwnerID uint `json:"owner_id"`
}

type TaskUpdateStatusParams struct {
	TaskID  uint       `json:"task_id"`
	Status  TaskStatus `json:"status"`
	OwnerID uint       `json:"owner_id"`
}

// UserGetParams: without Username the call lists users, a page at a time.
type UserGetParams struct {
	Username string `json:"username,omitempty"`
	Page     int    `json:"page,omitempty"`
}

type UserGetByIDParams struct {
	ID uint `json:"id"`
}

type CreateUserParams struct {
	Username     string   `json:"username"`
	Email        string   `json:"email"`
	Role         UserRole `json:"role"`
	PublicSSHKey string   `json:"public_ssh_key"`
}

type DeleteUserParams struct {
	ID uint `json:"id"`
}

type SSHKeyCreateParams struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
	OwnerID   uint   `json:"owner_id"`
}

// SSHKeyListParams: OwnerID 0 lists every owner's keys.
type SSHKeyListParams struct {
	OwnerID uint `json:"owner_id"`
}

// SSHKeyDeleteParams: the client refuses OwnerID 0, which the server would
// treat as "this name, any owner".
type SSHKeyDeleteParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}
