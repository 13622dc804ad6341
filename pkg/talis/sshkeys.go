package talis

import "context"

// CreateSSHKey stores a public key; (name, owner) is unique and a duplicate
// satisfies IsAlreadyExists. Never retried.
func (c *APIClient) CreateSSHKey(ctx context.Context, params SSHKeyCreateParams) (SSHKey, error) {
	var k SSHKey
	err := c.callRPC(ctx, "CreateSSHKey", RPCSSHKeyCreate, params, &k, true)
	return k, err
}

// ListSSHKeys lists an owner's keys (every owner's when OwnerID is 0).
func (c *APIClient) ListSSHKeys(ctx context.Context, params SSHKeyListParams) ([]SSHKey, error) {
	keys := []SSHKey{}
	err := c.callRPC(ctx, "ListSSHKeys", RPCSSHKeyList, params, &keys, false)
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// DeleteSSHKey soft-deletes a key; a missing key is a 500 that IsNotFound
// recognises. OwnerID 0 is refused: the server would delete the name for
// every owner.
func (c *APIClient) DeleteSSHKey(ctx context.Context, params SSHKeyDeleteParams) error {
	if params.OwnerID == 0 {
		return invalidArgf("DeleteSSHKey: owner_id is required")
	}
	return c.callRPC(ctx, "DeleteSSHKey", RPCSSHKeyDelete, params, nil, false)
}
