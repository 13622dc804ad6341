// Package render checks the deployment manifests: it renders config/ with kustomize and
// charts/talis-operator with helm, sends every object to a real kube-apiserver (envtest) with
// server-side dry-run, and asserts the security and RBAC properties both must keep.
//
// It needs KUBEBUILDER_ASSETS, KUSTOMIZE and HELM; `make test` sets all three.
package render
