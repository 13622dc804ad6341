package contract

import (
	"slices"
	"strings"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestSSHKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIContract contract@test"

	var k talis.SSHKey
	x := e.one(t, func() {
		k = must(e.c.CreateSSHKey(ctx, talis.SSHKeyCreateParams{Name: "laptop", PublicKey: pub, OwnerID: 7}))(t)
	})
	params := e.checkRPC(t, x, "sshkey.create")
	jsonIs(t, "public_key", params["public_key"], pub)
	jsonIs(t, "owner_id", params["owner_id"], 7)
	if k.ID == 0 || k.Name != "laptop" || k.PublicKey != pub || k.OwnerID != 7 || k.CreatedAt.IsZero() || k.DeletedAt != nil {
		t.Errorf("created key = %+v", k)
	}
	// (name, owner) is unique: another owner may reuse the name.
	must(e.c.CreateSSHKey(ctx, talis.SSHKeyCreateParams{Name: "laptop", PublicKey: "ssh-rsa AAAAB3 other", OwnerID: 8}))(t)

	var keys []talis.SSHKey
	x = e.one(t, func() { keys = must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 7}))(t) })
	jsonIs(t, "owner_id", e.checkRPC(t, x, "sshkey.list")["owner_id"], 7)
	var raw []emulator.SSHKey
	e.rawRPC(t, "sshkey.list", map[string]any{"owner_id": 7}, &raw)
	if len(keys) != 1 || len(raw) != 1 {
		t.Fatalf("sshkey.list owner 7: %d keys, emulator %d", len(keys), len(raw))
	}
	sameSSHKey(t, &keys[0], raw[0])
	if all := must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{}))(t); len(all) != 2 {
		t.Errorf("owner 0 lists every owner's keys: got %d", len(all))
	}
	if none := must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 9}))(t); none == nil || len(none) != 0 {
		t.Errorf("empty list = %#v, want []", none)
	}

	// Duplicate: a 500 that reads as "already exists"; never retried.
	e.one(t, func() {
		_, err := e.c.CreateSSHKey(ctx, talis.SSHKeyCreateParams{Name: "laptop", PublicKey: pub, OwnerID: 7})
		wantAlreadyExists(t, err, 500)
		// PostgreSQL names upstream's index.
		if d := apiErr(t, err).Detail; d != `ERROR: duplicate key value violates unique constraint "idx_sshkey_owner_name" (SQLSTATE 23505)` {
			t.Errorf("detail %q", d)
		}
	})

	// Validation.
	for _, tc := range []struct {
		p   talis.SSHKeyCreateParams
		msg string
	}{
		{talis.SSHKeyCreateParams{PublicKey: pub, OwnerID: 7}, "Name is required"},
		{talis.SSHKeyCreateParams{Name: "n", OwnerID: 7}, "Public key is required"},
		{talis.SSHKeyCreateParams{Name: "n", PublicKey: pub}, "Owner ID is required"},
		{talis.SSHKeyCreateParams{Name: "n", PublicKey: "rsa AAAA", OwnerID: 7},
			"invalid SSH public key format: must begin with ssh-rsa, ssh-ed25519, ecdsa-sha2-*, or ssh-dss"},
	} {
		_, err := e.c.CreateSSHKey(ctx, tc.p)
		wantInvalid(t, err, 400, tc.msg)
	}

	// sshkey.delete, then a second delete is "not found" (a 500).
	x = e.one(t, func() { noErr(t, e.c.DeleteSSHKey(ctx, talis.SSHKeyDeleteParams{Name: "laptop", OwnerID: 7})) })
	params = e.checkRPC(t, x, "sshkey.delete")
	if got := keysOf(params); !slices.Equal(got, []string{"name", "owner_id"}) {
		t.Errorf("sshkey.delete params %v", got)
	}
	if l := must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 7}))(t); len(l) != 0 {
		t.Errorf("deleted key still listed: %v", l)
	}
	if l := must(e.c.ListSSHKeys(ctx, talis.SSHKeyListParams{OwnerID: 8}))(t); len(l) != 1 {
		t.Errorf("owner 8's key must survive: %v", l)
	}
	e.one(t, func() {
		err := e.c.DeleteSSHKey(ctx, talis.SSHKeyDeleteParams{Name: "laptop", OwnerID: 7})
		if ae := wantNotFound(t, err, 500); !strings.Contains(ae.Detail, "SSH key 'laptop' not found for owner 7") {
			t.Errorf("detail %q", ae.Detail)
		}
	})
	// Owner 0 would delete the name for every owner: refused client-side.
	if ex := e.capture(func() {
		err := e.c.DeleteSSHKey(ctx, talis.SSHKeyDeleteParams{Name: "laptop"})
		if !talis.IsInvalid(err) || talis.IsAmbiguous(err) {
			t.Errorf("owner 0 delete: %v", err)
		}
	}); len(ex) != 0 {
		t.Errorf("refused delete reached the wire")
	}
}
