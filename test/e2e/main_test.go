//go:build e2e

/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// Package e2e runs the operator the way users do, on the real single-node Kubernetes that
// hack/e2e/run.sh brings up: `make test-e2e`. It is behind the e2e build tag, so `go test ./...`
// does not run it.
package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// env names the node's kubeconfig and the binaries the suite drives; hack/e2e/run.sh sets them.
type env struct {
	root, kubeconfig, kubectl, helm, kustomize, containerd string
}

func loadEnv(t *testing.T) env {
	t.Helper()
	e := env{
		kubeconfig: os.Getenv("E2E_KUBECONFIG"),
		kubectl:    os.Getenv("E2E_KUBECTL"),
		helm:       os.Getenv("E2E_HELM"),
		kustomize:  os.Getenv("E2E_KUSTOMIZE"),
		containerd: os.Getenv("E2E_CONTAINERD_SOCK"),
	}
	if e.kubeconfig == "" || e.kubectl == "" || e.helm == "" || e.kustomize == "" || e.containerd == "" {
		t.Fatal("E2E_KUBECONFIG, E2E_KUBECTL, E2E_HELM, E2E_KUSTOMIZE and E2E_CONTAINERD_SOCK must be set: run `make test-e2e`")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	e.root = root
	return e
}
