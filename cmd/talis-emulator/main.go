/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// Command talis-emulator serves an in-memory Talis API emulator with an
// asynchronous lifecycle worker, gateway emulation and fault injection.
// Faults and delays can also be changed at run time under /emulator/.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func main() {
	log.SetFlags(log.LstdFlags)
	if err := run(); err != nil {
		log.Fatalf("talis-emulator: %v", err)
	}
}

// parse reads the command line into the listen address and the emulator's
// configuration.
func parse(args []string) (string, emulator.Config, error) {
	fs := flag.NewFlagSet("talis-emulator", flag.ExitOnError)
	d := emulator.DefaultDelays
	var (
		addr        = fs.String("addr", ":8080", "listen address")
		prefix      = fs.String("path-prefix", "", `also serve the API under this prefix, e.g. "/talis" (Kong style)`)
		apiKeys     = fs.String("api-keys", "", "comma-separated keys; enables Kong key-auth (header or query \"apikey\")")
		seed        = fs.Uint64("seed", 0, "fault RNG seed (0 = random)")
		dupStyle    = fs.String("duplicate-style", "postgres", `unique-violation errors: "postgres" or "sqlite"`)
		noQuirk     = fs.Bool("disable-race-quirk", false, "do not let a finishing create overwrite a concurrent termination")
		tasksPerSec = fs.Int("tasks-per-second", emulator.UpstreamTasksPerSecond, "tasks of one priority (creates, terminates) the worker starts per second, as upstream's dispatcher; negative = no cap")
		stableOrder = fs.Bool("stable-list-order", false, "list instances and tasks (instance lists, project.listInstances, task.list) in id order even while rows change (upstream does not)")
		downtime    = fs.Duration("restart-downtime", 0, "listener downtime of POST /emulator/restart (default 500ms)")
		faultsJSON  = fs.String("faults", "", `fault plan as JSON (same as PUT /emulator/faults), or @file`)
		errRate     = fs.Float64("error-rate", 0, "500 rate on every route (route-shaped bodies)")
		gwRate      = fs.Float64("gateway-error-rate", 0, "gateway 502 rate on every route")
		latency     = fs.Duration("latency", 0, "added latency on every route")
		jitter      = fs.Duration("jitter", 0, "random extra latency up to this value")
		timeoutRate = fs.Float64("timeout-rate", 0, "rate of requests that hang for -hang then get dropped")
		dropRate    = fs.Float64("create-drop-rate", 0, "rate of creates that commit, hang for -hang, then get dropped")
		hang        = fs.Duration("hang", 0, "hang duration for -timeout-rate / -create-drop-rate")
		rateLimit   = fs.Float64("rate-limit", 0, "token bucket rate in req/s (0 = off); excess gets 429")
		rateBurst   = fs.Int("rate-burst", 1, "token bucket capacity")
		next429     = fs.Int("next-429", 0, "answer the first N requests with 429")
		retryAfter  = fs.Duration("retry-after", 0, "Retry-After of -next-429 answers (min 1s)")
		createFail  = fs.Float64("create-fail-rate", 0, "fraction of create tasks that fail (instance stays pending)")
		provFail    = fs.Float64("provision-fail-rate", 0, "fraction of provisionings that fail")
		termFail    = fs.Float64("terminate-fail-rate", 0, "fraction of terminate tasks that fail")
		neverReady  = fs.Float64("never-ready-rate", 0, "fraction of instances stuck forever")
		neverStage  = fs.String("never-ready-stage", "pending", "stage they get stuck in: pending, created or provisioning")
	)
	fs.DurationVar(&d.Pickup, "delay-pickup", d.Pickup, "task created → picked up")
	fs.DurationVar(&d.Create, "delay-create", d.Create, "picked up → instance created (IP assigned)")
	fs.DurationVar(&d.Ready, "delay-ready", d.Ready, "created → ready (or → provisioning)")
	fs.DurationVar(&d.Provision, "delay-provision", d.Provision, "provisioning → ready")
	fs.DurationVar(&d.Terminate, "delay-terminate", d.Terminate, "terminate picked up → terminated")
	fs.Float64Var(&d.Spread, "delay-spread", d.Spread, "randomise every phase by ± this fraction (0 = exact, at most 1)")
	if err := fs.Parse(args); err != nil {
		return "", emulator.Config{}, err
	}

	var f emulator.Faults
	if *faultsJSON != "" {
		raw := []byte(*faultsJSON)
		if strings.HasPrefix(*faultsJSON, "@") {
			b, err := os.ReadFile(strings.TrimPrefix(*faultsJSON, "@"))
			if err != nil {
				return "", emulator.Config{}, err
			}
			raw = b
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return "", emulator.Config{}, fmt.Errorf("-faults: %w", err)
		}
	}
	all := emulator.RouteFault{ErrorRate: *errRate, GatewayErrorRate: *gwRate, Latency: *latency, Jitter: *jitter, TimeoutRate: *timeoutRate, Hang: *hang}
	if all != (emulator.RouteFault{Hang: *hang}) {
		setRoute(&f, "*", all)
	}
	if *dropRate > 0 {
		setRoute(&f, "POST /api/v1/instances", emulator.RouteFault{CommitThenDropRate: *dropRate, Hang: *hang})
	}
	setIf(&f.RateLimit, *rateLimit)
	if *rateLimit > 0 {
		f.RateBurst = *rateBurst
	}
	if *next429 > 0 {
		f.Next429 = *next429
	}
	if *retryAfter > 0 {
		f.RetryAfter = *retryAfter
	}
	setIf(&f.CreateFailRate, *createFail)
	setIf(&f.ProvisionFailRate, *provFail)
	setIf(&f.TerminateFailRate, *termFail)
	if *neverReady > 0 {
		f.NeverReadyRate, f.NeverReadyStage = *neverReady, *neverStage
	}

	var keys []string
	for _, k := range strings.Split(*apiKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return *addr, emulator.Config{
		Delays:                d,
		DisableRaceQuirk:      *noQuirk,
		StableListOrder:       *stableOrder,
		TasksPerSecond:        *tasksPerSec,
		DuplicateProjectStyle: *dupStyle,
		PathPrefix:            *prefix,
		APIKeys:               keys,
		Faults:                f,
		Seed:                  *seed,
		RestartDowntime:       *downtime,
	}, nil
}

func run() error {
	addr, cfg, err := parse(os.Args[1:])
	if err != nil {
		return err
	}
	srv := emulator.New(cfg)
	url, err := srv.Start(addr)
	if err != nil {
		return err
	}
	fj, _ := json.Marshal(srv.Faults())
	dj, _ := json.Marshal(srv.Delays())
	log.Printf("talis-emulator listening on %s (prefix=%q, auth=%v, seed=%d, tasks/s=%d, stable-list-order=%v, delays=%s, faults=%s)",
		url, cfg.PathPrefix, len(cfg.APIKeys) > 0, srv.Seed(), cfg.TasksPerSecond, cfg.StableListOrder, dj, fj)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return srv.Close()
}

// setRoute merges a flag-built route fault into the plan.
func setRoute(f *emulator.Faults, name string, rf emulator.RouteFault) {
	if f.Routes == nil {
		f.Routes = map[string]emulator.RouteFault{}
	}
	f.Routes[name] = rf
}

func setIf(dst *float64, v float64) {
	if v > 0 {
		*dst = v
	}
}
