// Package gitops runs talis-operator under the real Flux kustomize-controller and the real Argo CD
// application-controller and repo-server, run by `make test-gitops` (which builds them from their Go
// modules, hack/gitops/flux-assets.sh and argocd-assets.sh) and skipped by `make test`. Each tool's
// tests are skipped unless its assets are set (FLUX_ASSETS, ARGOCD_ASSETS). Flux:
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
// Argo CD (argocd_main_test.go starts it, argocd_git_test.go serves git, argocd_app_test.go reads
// Applications):
//
//   - argocd_health_test.go: an Application syncs a project and a set from git, Progressing until
//     the set is Ready, then Healthy, and stays Synced; a 3 → 5 commit is synced and Healthy with 5
//     in Talis; a set Talis rejects is Degraded with the operator's message; a paused set Suspended;
//   - argocd_delete_test.go: deleting an Application with the resources finalizer terminates every
//     instance before the Application goes (needs KUBE_CONTROLLER_MANAGER: envtest has no garbage
//     collector, which a foreground deletion waits for);
//   - argocd_replicas_test.go: ignoreDifferences on /spec/replicas with RespectIgnoreDifferences
//     keeps a value set by another field manager across syncs; without it, self-heal sets it back.
//
// Argo CD's application-controller and repo-server are its own commands in one binary
// (hack/gitops/argocd/main.go), with an in-memory redis; each test's git repository is served over
// smart HTTP by `git http-backend`. Argo CD's side is read from the Application's status.
//
// For Flux there is no source-controller: the tests are the artifact producer. They serve each
// revision's manifests as a tarball over HTTP and point an ExternalArtifact (source.toolkit.fluxcd.io/v1)
// at it, which kustomize-controller fetches behind its ExternalArtifact feature gate. The operator's
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
	flux       *harness.Manager // nil unless FLUX_ASSETS is set
	artifacts  *artifactServer
	ctx        = context.Background()
)

func TestMain(m *testing.M) {
	var setup []func() (func(), error)
	if os.Getenv("FLUX_ASSETS") != "" {
		setup = append(setup, startFlux)
	}
	if os.Getenv("ARGOCD_ASSETS") != "" {
		setup = append(setup, startArgo)
	}
	if len(setup) == 0 {
		fmt.Println("test/gitops: skipped (run `make test-gitops`, or set FLUX_ASSETS and ARGOCD_ASSETS to the directories hack/gitops/flux-assets.sh and argocd-assets.sh print)")
		os.Exit(0)
	}
	os.Exit(harness.RunMain(m, "test/gitops", func(c *harness.ControlPlane, bin string) { cp, managerBin = c, bin }, setup...))
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
