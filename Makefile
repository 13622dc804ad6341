# talis-operator — kubebuilder-style Makefile. Tools are pinned and built into bin/ from the Go module proxy.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

IMG ?= ghcr.io/talis-operator/talis-operator:dev
LOCALBIN ?= $(CURDIR)/bin
export GOTOOLCHAIN := local
export GOFLAGS := -buildvcs=false

CONTROLLER_GEN_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
HELM_VERSION ?= v3.22.0
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.7.0

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
CRD_REF_DOCS_VERSION ?= v0.3.0
CRD_REF_DOCS ?= $(LOCALBIN)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)
# v2.15.0 is the newest whose go.mod asks for no more than Go 1.26.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# Tests that need a control plane find it here; `make envtest` builds it from source once per machine.
ENVTEST_ASSETS = $(LOCALBIN)/k8s/$(K8S_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH)
TEST_TIMEOUT ?= 30m

# Flux for `make test-gitops`: kustomize-controller built from its module, the source CRDs it watches
# from source-controller's (hack/gitops/flux-assets.sh).
FLUX_KUSTOMIZE_CONTROLLER_VERSION ?= v1.9.6
FLUX_SOURCE_CONTROLLER_VERSION ?= v1.9.3
# Argo CD for `make test-gitops`: application-controller and repo-server built from its module into one
# binary with an in-memory redis (hack/gitops/argocd-assets.sh). v3.2.11: the newest this Go (1.26) and
# the module proxy build unpatched (the script says why v3.3 to v3.6 do not). Its resources finalizer
# deletes in the foreground, which needs the garbage collector: kube-controller-manager from the e2e node
# binaries (hack/e2e/node-assets.sh) runs it.
ARGOCD_VERSION ?= v3.2.11

# What the manager's --version prints (cmd/manager/version.go).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the code markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./internal/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: api-docs
api-docs: $(CRD_REF_DOCS) ## Generate the API reference docs/api.md from the Go types.
	$(CRD_REF_DOCS) --source-path=./api/v1alpha1 --config=hack/crd-ref-docs.yaml --templates-dir=hack/crd-ref-docs --renderer=markdown --output-path=docs/api.md >/dev/null

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint with .golangci.yml.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: verify-generated
verify-generated: manifests generate ## Fail if generated files differ from what is committed.
	@git diff --exit-code -- api config charts docs/api.md || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd from source into bin/k8s (cached per machine).
	@K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-assets.sh >/dev/null

.PHONY: test
test: test-quick test-chaos ## Run every test: test-quick, then the chaos suites (what CI runs).

.PHONY: test-quick
test-quick: manifests generate api-docs vet lint envtest helm-crds $(KUSTOMIZE) $(HELM) ## Unit, fuzz seeds, contract, envtest, render and reliability suites (~3 min warm).
	@test -z "$$(gofmt -l api cmd internal pkg test 2>/dev/null)" || { echo "not gofmt-ed:"; gofmt -l api cmd internal pkg test; exit 1; }
	@if [ -n "$${CI:-}" ]; then git diff --exit-code -- api config charts docs/api.md || { echo "generated files differ from 'make manifests generate': regenerate and commit"; exit 1; }; fi
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" KUSTOMIZE="$(KUSTOMIZE)" HELM="$(HELM)" go test -race -timeout $(TEST_TIMEOUT) ./... 2>&1 | tee $(LOCALBIN)/test-output.txt

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 20s).
	hack/fuzz.sh $${FUZZTIME:-20s}

.PHONY: test-e2e
test-e2e: envtest helm-crds $(KUSTOMIZE) $(HELM) ## As root: a single-node Kubernetes built from source, the chart and config/default installed and checked in-cluster (test/e2e).
	K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) HELM="$(HELM)" KUSTOMIZE="$(KUSTOMIZE)" hack/e2e/run.sh 2>&1 | tee $(LOCALBIN)/test-e2e-output.txt

.PHONY: gitops-assets
gitops-assets: ## Build what test-gitops runs (Flux's kustomize-controller, Argo CD) from source, once per machine.
	@KUSTOMIZE_CONTROLLER_VERSION=$(FLUX_KUSTOMIZE_CONTROLLER_VERSION) SOURCE_CONTROLLER_VERSION=$(FLUX_SOURCE_CONTROLLER_VERSION) hack/gitops/flux-assets.sh >/dev/null
	@ARGOCD_VERSION=$(ARGOCD_VERSION) hack/gitops/argocd-assets.sh >/dev/null

.PHONY: e2e-assets
e2e-assets: ## Build the e2e node's Kubernetes binaries from source, once per machine (test-gitops and test-e2e do it too).
	@K8S_VERSION=$(K8S_VERSION) hack/e2e/node-assets.sh >/dev/null

.PHONY: test-gitops
test-gitops: envtest build ## The real Flux kustomize-controller and Argo CD (built from source once per machine) syncing, waiting on and pruning Talis objects (test/gitops).
	@flux="$$(KUSTOMIZE_CONTROLLER_VERSION=$(FLUX_KUSTOMIZE_CONTROLLER_VERSION) SOURCE_CONTROLLER_VERSION=$(FLUX_SOURCE_CONTROLLER_VERSION) hack/gitops/flux-assets.sh)" && \
	argocd="$$(ARGOCD_VERSION=$(ARGOCD_VERSION) hack/gitops/argocd-assets.sh)" && \
	node="$$(K8S_VERSION=$(K8S_VERSION) hack/e2e/node-assets.sh)" && \
	FLUX_ASSETS="$$flux" ARGOCD_ASSETS="$$argocd" KUBE_CONTROLLER_MANAGER="$$node/kube-controller-manager" KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" MANAGER_BIN="$(LOCALBIN)/manager" go test -count=1 -v -parallel 16 -timeout 20m ./test/gitops/... 2>&1 | tee $(LOCALBIN)/test-gitops-output.txt

##@ Build

.PHONY: build
build: ## Build the manager and the Talis emulator into bin/.
	go build -ldflags "$(LDFLAGS)" -o $(LOCALBIN)/manager ./cmd/manager
	go build -o $(LOCALBIN)/talis-emulator ./cmd/talis-emulator

.PHONY: run
run: manifests generate ## Run the manager from this host against the current kubeconfig.
	go run ./cmd/manager $(ARGS)

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMG) .

##@ Tools

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

$(CONTROLLER_GEN): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

$(KUSTOMIZE): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/kustomize $(KUSTOMIZE)

$(CRD_REF_DOCS): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION)
	mv $(LOCALBIN)/crd-ref-docs $(CRD_REF_DOCS)

$(GOLANGCI_LINT): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $(GOLANGCI_LINT)

$(HELM): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm $(HELM)

##@ Deployment

KUBECTL ?= kubectl
# `make undeploy ignore-not-found=true` does not fail on objects that are already gone.
ignore-not-found ?= false

.PHONY: install
install: manifests $(KUSTOMIZE) ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) ## Remove the CRDs (and so every Talis object) from the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy the manager image IMG with CRDs and RBAC to the cluster.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Remove everything `make deploy` created.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: build-installer
build-installer: manifests $(KUSTOMIZE) ## Write dist/install.yaml: every manifest for image IMG in one file.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default > dist/install.yaml

.PHONY: helm-crds
helm-crds: manifests ## Copy the generated CRDs into the Helm chart.
	rm -f charts/talis-operator/crds/*.yaml
	cp config/crd/bases/*.yaml charts/talis-operator/crds/

.PHONY: helm-lint
helm-lint: helm-crds $(HELM) ## Lint the Helm chart.
	$(HELM) lint charts/talis-operator

##@ Demo

.PHONY: demo
demo: envtest build ## Walk through the operator on a local apiserver + etcd and the Talis emulator (KEEP=1 keeps it running).
	go build -o $(LOCALBIN)/demo ./hack/demo
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" exec $(LOCALBIN)/demo --manager $(LOCALBIN)/manager </dev/null

##@ Benchmarks

# Extra flags for hack/bench, e.g. BENCH_ARGS="--sizes 100 --scale 0" (see `go run ./hack/bench -h`).
BENCH_ARGS ?=

.PHONY: bench
bench: envtest build ## Measure convergence, Talis API cost and memory against a direct-API baseline (writes docs/benchmarks.*).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./hack/bench --manager $(LOCALBIN)/manager $(BENCH_ARGS)

##@ Reliability

.PHONY: test-chaos
test-chaos: envtest build ## Long reliability suites (test/chaos): ≥50 random SIGKILLs of the manager, every Talis fault, the adversary's draws (~16 min).
	CHAOS=1 KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" MANAGER_BIN="$(LOCALBIN)/manager" go test -count=1 -v -timeout 30m ./test/chaos/... 2>&1 | tee $(LOCALBIN)/test-chaos-output.txt
