/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

const maxPayloadSize = 2 << 20

// validProviders pass validation; see workingProviders for the worker.
var validProviders = map[string]bool{
	"aws": true, "gcp": true, "azure": true, "do": true, "scw": true, "vultr": true,
	"linode": true, "hetzner": true, "ovh": true, "ximera": true, "do-mock": true,
	"digitalocean-mock": true, "mock": true,
}

// validateInstanceRequest applies upstream's checks in upstream's order
// (section 4.5); payload_path is checked against the local filesystem, as
// the real server checks its own. It cleans PayloadPath in place.
func (s *Server) validateInstanceRequest(r *InstanceRequest) error {
	switch {
	case r.ProjectName == "":
		return errors.New("project_name is required")
	case r.OwnerID == 0:
		return errors.New("owner_id is required")
	case r.Provider == "":
		return errors.New("provider is required")
	case !validProviders[string(r.Provider)]:
		return fmt.Errorf("unsupported provider: %s", r.Provider)
	case r.Region == "":
		return errors.New("region is required")
	case r.Size == "" && (r.Memory <= 0 || r.CPU <= 0):
		return errors.New("either size, or both memory and cpu, must be provided")
	case r.Image == "":
		return errors.New("image is required")
	case r.NumberOfInstances < 1:
		return errors.New("number_of_instances must be greater than 0")
	case len(r.Volumes) == 0:
		return errors.New("at least one volume configuration is required")
	}
	if r.Provider == "ximera" {
		if r.Memory <= 0 {
			return errors.New("memory is required and must be > 0 for Ximera")
		}
		if r.CPU <= 0 {
			return errors.New("cpu is required and must be > 0 for Ximera")
		}
		if _, err := strconv.Atoi(r.Image); err != nil {
			return fmt.Errorf("image (osID) must be a valid integer for Ximera: %w", err)
		}
		if v, ok := s.cfg.LookupEnv("TALIS_SSH_KEY_NAME"); !ok || v == "" {
			return errors.New("environment variable TALIS_SSH_KEY_NAME is required for Ximera")
		}
	}
	for i, v := range r.Volumes {
		if v.Region != "" && v.Region != r.Region {
			return fmt.Errorf("invalid volume configuration at index %d: volume region %s does not match instance region %s", i, v.Region, r.Region)
		}
	}
	if r.PayloadPath != "" {
		if err := checkPayloadPath(r); err != nil {
			return err
		}
	}
	if r.ExecutePayload && r.PayloadPath == "" {
		return errors.New("payload_path is required when execute_payload is true")
	}
	if r.PayloadPath != "" && !r.Provision {
		return errors.New("provision must be true when payload_path is provided")
	}
	if r.Action == "" {
		return errors.New("action is required")
	}
	return nil
}

func checkPayloadPath(r *InstanceRequest) error {
	if !filepath.IsAbs(r.PayloadPath) {
		return errors.New("payload_path must be an absolute path")
	}
	r.PayloadPath = filepath.Clean(r.PayloadPath)
	fi, err := os.Stat(r.PayloadPath)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("payload_path file does not exist: %s", r.PayloadPath)
		}
		return fmt.Errorf("error accessing payload_path file: %w", err)
	}
	if fi.IsDir() {
		return errors.New("payload_path cannot be a directory")
	}
	if fi.Size() > maxPayloadSize {
		return errors.New("payload file size exceeds the limit of 2MB")
	}
	return nil
}
