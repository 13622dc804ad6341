// Command demo shows talis-operator doing its job on one machine: a real kube-apiserver and etcd
// (the envtest binaries), the Talis emulator and the manager binary; it applies the samples,
// scales, rolls the template, deletes, and checks that nothing is left running in Talis.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func main() {
	keep := flag.Bool("keep", os.Getenv("KEEP") == "1", "keep everything running after the walk-through (or KEEP=1)")
	manager := flag.String("manager", "bin/manager", "manager binary")
	flag.Parse()
	if err := run(*keep, *manager); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(keep bool, managerBin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("Starting a local kube-apiserver and etcd (envtest binaries built from source)")
	env := &envtest.Environment{CRDDirectoryPaths: []string{"config/crd/bases"}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane (run via `make demo`, which builds it): %w", err)
	}
	defer func() { _ = env.Stop() }()
	kubeconfig, err := writeKubeconfig(env)
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
	mgr := exec.CommandContext(ctx, managerBin, "--talis-url", talisURL, "--metrics-bind-address", "0",
		"--health-probe-bind-address", "0", "--poll-min", "250ms", "--poll-max", "2s")
	mgr.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	logPath := filepath.Join(filepath.Dir(kubeconfig), "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	mgr.Stdout, mgr.Stderr = logFile, logFile
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("starting %s (run via `make demo`, which builds it): %w", managerBin, err)
	}
	defer func() { _ = mgr.Process.Signal(syscall.SIGTERM); _ = mgr.Wait() }()
	fmt.Printf("  manager log: %s\n", logPath)

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = infrav1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	w := &walkthrough{c: c, cfg: cfg, emu: emu, scheme: scheme}
	if err := w.run(ctx); err != nil {
		return err
	}
	if keep {
		fmt.Printf("\nStill running. Try:\n  export KUBECONFIG=%s\n  kubectl apply -k config/samples/ && kubectl get talisinstancesets -o wide -w\n  curl %s/emulator/ledger\nPress Ctrl-C to stop.\n", kubeconfig, talisURL)
		<-ctx.Done()
	}
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

func writeKubeconfig(env *envtest.Environment) (string, error) {
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "demo", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "talis-demo-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, raw, 0o600)
}
