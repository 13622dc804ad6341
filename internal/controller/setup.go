package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

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

// Setup registers the indexes and both controllers with a manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	if cfg.Observer != nil {
		// List calls end with the manager.
		if err := mgr.Add(cfg.Observer); err != nil {
			return err
		}
	}
	if err := SetupIndexes(context.Background(), mgr); err != nil {
		return fmt.Errorf("indexing TalisInstanceSets and TalisProjects: %w", err)
	}
	if err := (&TalisProjectReconciler{
		Client: mgr.GetClient(), Scheme: mgr.GetScheme(), Recorder: clippedRecorder{mgr.GetEventRecorder("talisproject-controller")},
		Conns: cfg.Conns, Timing: cfg.Timing,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisProject controller: %w", err)
	}
	if err := (&TalisInstanceSetReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: clippedRecorder{mgr.GetEventRecorder("talisinstanceset-controller")},
		Conns:    cfg.Conns, Observer: cfg.Observer, Timing: cfg.Timing, Hook: cfg.Hook,
	}).SetupWithManager(mgr, cfg.Concurrency); err != nil {
		return fmt.Errorf("setting up the TalisInstanceSet controller: %w", err)
	}
	return nil
}
