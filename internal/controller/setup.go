package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
)

// Config is what both reconcilers share.
type Config struct {
	Conns       *talisconn.Registry
	Observer    *observer.Observer
	Timing      Timing
	Concurrency int
	// Hook is called after each externally visible step of a set's reconcile (tests only).
	Hook StepHook
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
	if err := (&TalisProjectReconciler{
		Client: mgr.GetClient(), Recorder: clippedRecorder{mgr.GetEventRecorder("talisproject-controller")},
		Conns: cfg.Conns, Timing: cfg.Timing,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisProject controller: %w", err)
	}
	verdicts := &outputsVerdicts{}
	sets := &TalisInstanceSetReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: clippedRecorder{mgr.GetEventRecorder("talisinstanceset-controller")},
		Conns:    cfg.Conns, Observer: cfg.Observer, Timing: cfg.Timing, Hook: cfg.Hook, Outputs: verdicts,
	}
	if err := sets.SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisInstanceSet controller: %w", err)
	}
	verdicts.wake = sets.waker.wake
	if err := (&OutputsReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: clippedRecorder{mgr.GetEventRecorder("talisinstanceset-outputs")},
		Verdicts: verdicts, Recheck: cfg.Timing.ErrorRetry,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the outputs controller: %w", err)
	}
	return nil
}
