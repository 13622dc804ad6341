package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/talis-operator/talis-operator/internal/claims"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"github.com/talis-operator/talis-operator/internal/controller/outputs"
	"github.com/talis-operator/talis-operator/internal/controller/project"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
)

// Timing holds every interval the reconcilers wait on (shared.Timing); the manager's flags set it.
type Timing = shared.Timing

// DefaultTiming is what the manager runs with unless flags say otherwise.
func DefaultTiming() Timing { return shared.DefaultTiming() }

// Config is what the three reconcilers are built from.
type Config struct {
	Conns       *talisconn.Registry
	Observer    *observer.Observer
	Timing      Timing
	Concurrency int
	// Hook is called after each externally visible step of a set's reconcile (tests only).
	Hook instanceset.StepHook
}

// Setup registers the indexes and the controllers with a manager. Its cache must be narrowed
// with CacheByObject.
func Setup(mgr ctrl.Manager, cfg Config) error {
	if cfg.Observer != nil {
		// List calls end with the manager.
		if err := mgr.Add(cfg.Observer); err != nil {
			return err
		}
	}
	metrics.WatchObjects(mgr.GetCache(), mgr.Elected())
	if err := SetupIndexes(context.Background(), mgr); err != nil {
		return fmt.Errorf("indexing TalisInstanceSets and TalisProjects: %w", err)
	}
	events, err := newManagerEventSender(mgr)
	if err != nil {
		return fmt.Errorf("setting up events: %w", err)
	}
	verifier := &claims.Verifier{Conns: cfg.Conns}
	if err := (&project.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: events.recorder("talisproject-controller"),
		Conns:    cfg.Conns, Observer: cfg.Observer, Timing: cfg.Timing, Claims: verifier,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisProject controller: %w", err)
	}
	verdicts := &shared.OutputsVerdicts{}
	sets := &instanceset.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: events.recorder("talisinstanceset-controller"),
		Conns:    cfg.Conns, Observer: cfg.Observer, Timing: cfg.Timing, Hook: cfg.Hook, Outputs: verdicts,
		Claims: verifier,
	}
	if err := sets.SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisInstanceSet controller: %w", err)
	}
	verdicts.Wake = sets.Wake
	if err := (&outputs.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: events.recorder("talisinstanceset-outputs"),
		Verdicts: verdicts, Recheck: cfg.Timing.ErrorRetry,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the outputs controller: %w", err)
	}
	return nil
}
