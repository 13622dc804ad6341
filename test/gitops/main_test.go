// Package gitops runs talis-operator under the real Flux kustomize-controller, run by `make
// test-gitops` (which builds the controller from its Go module, hack/gitops/flux-assets.sh) and
// skipped by `make test`:
//
//   - health_test.go: a Kustomization that waits is Ready only once its set is Ready, a 3 → 5
//     commit is applied and waited for; a set Talis rejects fails the health check naming the set,
//     from its creation on, and its create is not sent again while Flux retries; a set no manager
//     has looked at never passes it;
//   - cel_test.go: the shipped healthCheckExprs (docs/health/flux-healthcheckexprs.yaml, shown in
//     docs/gitops.md) evaluated by the controller: inProgress, failed and current, and that they
//     need a Ready condition where kstatus would guess Current;
//   - prune_test.go: a set removed from the source is pruned and every instance terminated;
//   - pause_test.go: a commit that pauses a set and changes its spec is not passed until a commit
//     lifts the pause; a paused set pruned waits, says so, and finishes once unpaused;
//   - replicas_test.go: spec.replicas set by another field manager (an HPA, kubectl scale)
//     survives a Flux reconcile in the set-ups docs/gitops.md recommends, and does not without them.
//
// There is no source-controller: the tests are the artifact producer. They serve each revision's
// manifests as a tarball over HTTP and point an ExternalArtifact (source.toolkit.fluxcd.io/v1) at
// it, which kustomize-controller fetches behind its ExternalArtifact feature gate. The operator's
// side is read from Talis (the emulator's ledger); Flux's from the Kustomization's status and events.
package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/talis-operator/talis-operator/test/harness"
)

var (
	cp         *harness.ControlPlane
	managerBin string
	flux       *harness.Manager
	artifacts  *artifactServer
	ctx        = context.Background()
)

func TestMain(m *testing.M) {
	if os.Getenv("FLUX_ASSETS") == "" {
		fmt.Println("test/gitops: skipped (run `make test-gitops`, or set FLUX_ASSETS to the directory hack/gitops/flux-assets.sh prints)")
		os.Exit(0)
	}
	os.Exit(harness.RunMain(m, "test/gitops", func(c *harness.ControlPlane, bin string) { cp, managerBin = c, bin }, startFlux))
}

// startFlux installs the Flux CRDs of FLUX_ASSETS and starts its kustomize-controller as a host
// process against the control plane, with full rights (as its Deployment has), watching every
// namespace, for the whole suite: the tests run in parallel, each in its own namespace with its own
// emulator and manager, and a waiting health check holds one of its workers. It returns what stops it.
func startFlux() (func(), error) {
	assets := os.Getenv("FLUX_ASSETS")
	if _, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(assets, "crds")}, ErrorIfPathMissing: true}); err != nil {
		return nil, fmt.Errorf("installing the Flux CRDs: %w", err)
	}
	var err error
	if artifacts, err = newArtifactServer(); err != nil {
		return nil, err
	}
	kubeconfig, err := cp.AdminKubeconfig("kustomize-controller")
	if err != nil {
		return nil, err
	}
	metrics, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	health, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	flux, err = harness.StartManager(harness.ManagerSpec{
		Bin: filepath.Join(assets, "kustomize-controller"), Kubeconfig: kubeconfig,
		Args: []string{"--watch-all-namespaces", "--feature-gates=ExternalArtifact=true",
			"--metrics-addr", metrics, "--health-addr", health, "--log-encoding", "console", "--concurrent", "12"},
		Log: filepath.Join(cp.Dir, "kustomize-controller.log")})
	if err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	if !flux.Running() {
		return nil, fmt.Errorf("kustomize-controller exited at once:\n%s", flux.ReadLog())
	}
	return func() { flux.Stop(); artifacts.Close() }, nil
}
