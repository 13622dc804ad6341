package talis

import "context"

// GetUserByID reads a live user; absent → IsNotFound.
func (c *APIClient) GetUserByID(ctx context.Context, params UserGetByIDParams) (User, error) {
	var u User
	err := c.callRPC(ctx, "GetUserByID", RPCUserGetByID, params, &u, true)
	return u, err
}

// GetUsers reads one user by name, or lists a page of users when Username is
// empty (see UserResponse and AllUsers).
func (c *APIClient) GetUsers(ctx context.Context, params UserGetParams) (UserResponse, error) {
	var r UserResponse
	err := c.callRPC(ctx, "GetUsers", RPCUserGet, params, &r, true)
	return r, err
}

// CreateUser creates a user and returns its id. Usernames stay reserved
// after deletion; a duplicate satisfies IsAlreadyExists. Never retried.
func (c *APIClient) CreateUser(ctx context.Context, params CreateUserParams) (CreateUserResponse, error) {
	var r CreateUserResponse
	err := c.callRPC(ctx, "CreateUser", RPCUserCreate, params, &r, true)
	return r, err
}

// DeleteUser soft-deletes a user; an absent one → IsNotFound. Not retried,
// since a repeat after a lost success would report "not found".
func (c *APIClient) DeleteUser(ctx context.Context, params DeleteUserParams) error {
	return c.callRPC(ctx, "DeleteUser", RPCUserDelete, params, nil, false)
}
