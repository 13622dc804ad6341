// Command demo shows talis-operator doing its job on one machine: a real kube-apiserver and etcd
// (the envtest binaries), the Talis emulator and the manager binary; it applies the samples,
// scales, rolls the template, deletes, and checks that nothing is left running in Talis.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
	"github.com/talis-operator/talis-operator/test/harness"
)

func main() {
	keep := flag.Bool("keep", os.Getenv("KEEP") == "1", "keep everything running after the walk-through (or KEEP=1)")
	manager := flag.String("manager", "bin/manager", "manager binary")
	flag.Parse()
	// Stop (and stop what this started) with the make that ran us, even if it was SIGKILLed: a
	// demo left running would hold the caller's terminal or pipe open.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0)
	if err := run(*keep, *manager); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(keep bool, managerBin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("Starting a local kube-apiserver and etcd (envtest binaries built from source)")
	cp, err := harness.StartControlPlane()
	if err != nil {
		return fmt.Errorf("starting the control plane (run via `make demo`, which builds it): %w", err)
	}
	defer func() { _ = cp.Stop() }()
	kubeconfig, err := cp.AdminKubeconfig("demo")
	if err != nil {
		return err
	}

	step("Starting the Talis emulator (1 s to created, 1 s to ready)")
	emu := emulator.New(emulator.Config{Delays: emulator.Delays{
		Pickup: 200 * time.Millisecond, Create: time.Second, Ready: time.Second, Terminate: 500 * time.Millisecond}})
	talisURL, err := emu.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer emu.Close()

	step("Starting the manager: " + managerBin)
	mgr, err := harness.StartManager(harness.ManagerSpec{Bin: managerBin, Kubeconfig: kubeconfig,
		Args: []string{"--talis-url", talisURL, "--metrics-bind-address", "0",
			"--health-probe-bind-address", "0", "--poll-min", "250ms", "--poll-max", "2s"},
		Log: filepath.Join(cp.Dir, "manager.log")})
	if err != nil {
		return fmt.Errorf("starting %s (run via `make demo`, which builds it): %w", managerBin, err)
	}
	defer mgr.Stop()
	fmt.Printf("  manager log: %s\n", mgr.LogPath())

	w := &walkthrough{c: cp.Client, cfg: cp.Config, emu: emu, scheme: cp.Scheme}
	if err := w.run(ctx); err != nil {
		return err
	}
	if keep {
		fmt.Println()
		if err := printTry(os.Stdout, tryValues{Kubeconfig: kubeconfig, TalisURL: talisURL}); err != nil {
			return err
		}
		<-ctx.Done()
	}
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }
