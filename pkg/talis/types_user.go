package talis

import "time"

// UserRole is an int on the wire.
type UserRole int

const (
	UserRoleUser  UserRole = 0
	UserRoleAdmin UserRole = 1
)

// User is the server's user. It has no usable timestamps: the capitalised
// ones are always zero and created_at/updated_at are always "".
type User struct {
	ID             uint       `json:"ID"`
	ModelCreatedAt time.Time  `json:"CreatedAt"`
	ModelUpdatedAt time.Time  `json:"UpdatedAt"`
	DeletedAt      *time.Time `json:"DeletedAt"`

	Username     string   `json:"username"`
	Email        string   `json:"email"`
	Role         UserRole `json:"role"`
	PublicSSHKey string   `json:"public_ssh_key"`
	CreatedAt    string   `json:"created_at"`
	UpdatedAt    string   `json:"updated_at"`
}

// CreateUserResponse is the result of user.create.
type CreateUserResponse struct {
	ID uint `json:"id"`
}

// UserResponse is the result of user.get. With a username, User is set.
// Without one it is a list: User is a meaningless zero object, Users holds
// the page (absent when empty) and Pagination.Limit is 0 although the page
// size is RPCPageSize.
type UserResponse struct {
	User       User        `json:"user"`
	Users      []User      `json:"users,omitempty"`
	Pagination *Pagination `json:"pagination,omitempty"`
}

// SSHKey is a stored public key. Provisioning does not use these keys.
type SSHKey struct {
	ID        uint       `json:"ID"`
	CreatedAt time.Time  `json:"CreatedAt"` // real, unlike other models
	UpdatedAt time.Time  `json:"UpdatedAt"`
	DeletedAt *time.Time `json:"DeletedAt"`
	Name      string     `json:"name"`
	PublicKey string     `json:"public_key"`
	OwnerID   uint       `json:"owner_id"`
}
