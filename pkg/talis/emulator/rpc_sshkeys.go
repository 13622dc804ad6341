/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// SSHKeyCreateParams are sshkey.create's params.
type SSHKeyCreateParams struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
	OwnerID   uint   `json:"owner_id"`
}

// SSHKeyListParams are sshkey.list's params (owner 0 = every owner).
type SSHKeyListParams struct {
	OwnerID uint `json:"owner_id"`
}

// SSHKeyDeleteParams are sshkey.delete's params (owner 0 = every owner).
type SSHKeyDeleteParams struct {
	Name    string `json:"name"`
	OwnerID uint   `json:"owner_id"`
}

var sshKeyPrefixes = []string{
	"ssh-rsa ", "ssh-dss ", "ssh-ed25519 ",
	"ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ", "ecdsa-sha2-nistp521 ",
}

func validSSHPublicKey(k string) bool {
	k = strings.TrimSpace(k)
	for _, p := range sshKeyPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func (s *Server) sshKeyCreate(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[SSHKeyCreateParams](w, req)
	if !ok {
		return
	}
	switch {
	case p.Name == "":
		invalid(w, req, "Name is required")
		return
	case p.PublicKey == "":
		invalid(w, req, "Public key is required")
		return
	case p.OwnerID == 0:
		invalid(w, req, "Owner ID is required")
		return
	case !validSSHPublicKey(p.PublicKey):
		invalid(w, req, "invalid SSH public key format: must begin with ssh-rsa, ssh-ed25519, ecdsa-sha2-*, or ssh-dss")
		return
	}
	st := s.st
	idx := sshKeyIndex{owner: uint64(p.OwnerID), name: p.Name}
	st.mu.Lock()
	if _, dup := st.keyIndex[idx]; dup { // unique index also covers deleted keys
		st.mu.Unlock()
		writeRPCError(w, http.StatusInternalServerError, "Failed to create SSH key",
			s.uniqueViolation("idx_sshkey_owner_name", "ssh_keys.owner_id, ssh_keys.name"), req.ID)
		return
	}
	now, exact := insertTime()
	st.sshKeys = append(st.sshKeys, sshKey{ownerID: idx.owner, name: p.Name, publicKey: p.PublicKey, createdAt: now, updatedAt: now})
	id := uint64(len(st.sshKeys))
	st.keyIndex[idx] = id
	row := st.sshKeys[id-1]
	st.mu.Unlock()
	row.createdAt, row.updatedAt = exact, exact
	out := renderSSHKey(id, &row)
	writeRPCOK(w, out, req.ID)
}

func (s *Server) sshKeyList(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[SSHKeyListParams](w, req)
	if !ok {
		return
	}
	keys := []SSHKey{}
	s.st.mu.RLock()
	for i := range s.st.sshKeys {
		k := &s.st.sshKeys[i]
		if k.deletedAt == 0 && (p.OwnerID == 0 || k.ownerID == uint64(p.OwnerID)) {
			keys = append(keys, renderSSHKey(uint64(i+1), k))
		}
	}
	s.st.mu.RUnlock()
	writeRPCOK(w, keys, req.ID)
}

func (s *Server) sshKeyDelete(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[SSHKeyDeleteParams](w, req)
	if !ok {
		return
	}
	n := 0
	s.st.mu.Lock()
	now := nowNano()
	for i := range s.st.sshKeys {
		k := &s.st.sshKeys[i]
		if k.deletedAt == 0 && k.name == p.Name && (p.OwnerID == 0 || k.ownerID == uint64(p.OwnerID)) {
			k.deletedAt = now
			n++
		}
	}
	s.st.mu.Unlock()
	if n == 0 {
		writeRPCError(w, http.StatusInternalServerError, "Failed to delete SSH key",
			fmt.Sprintf("SSH key '%s' not found for owner %d", p.Name, p.OwnerID), req.ID)
		return
	}
	writeRPCOK(w, nil, req.ID)
}
