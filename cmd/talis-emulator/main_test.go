/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package main

import (
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestParseDefaultsAreUpstreams(t *testing.T) {
	addr, cfg, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if addr != ":8080" || cfg.TasksPerSecond != emulator.UpstreamTasksPerSecond || cfg.StableListOrder ||
		cfg.Delays != emulator.DefaultDelays || cfg.DisableRaceQuirk {
		t.Fatalf("%s %+v", addr, cfg)
	}
}

func TestParseStrictnessKnobs(t *testing.T) {
	_, cfg, err := parse([]string{"-tasks-per-second", "-1", "-stable-list-order", "-delay-spread", "0", "-delay-terminate", "50ms"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TasksPerSecond != -1 || !cfg.StableListOrder || cfg.Delays.Spread != 0 || cfg.Delays.Terminate != 50*time.Millisecond {
		t.Fatalf("%+v", cfg)
	}
}
