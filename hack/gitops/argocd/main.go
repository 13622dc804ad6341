//go:build talis_argocd

// Command argocd runs the parts of Argo CD that test/gitops needs, as host processes:
//
//	argocd application-controller [flags]  Argo CD's own command (cmd/argocd-application-controller)
//	argocd repo-server [flags]             Argo CD's own command (cmd/argocd-repo-server)
//	argocd redis --addr HOST:PORT          an in-memory redis (miniredis) for their caches
//
// It is built by hack/gitops/argocd-assets.sh in a throw-away module that requires Argo CD at the pinned
// version (the build tag keeps it out of this repository's module). The two components are Argo CD's
// cobra commands unchanged, wired as Argo CD's cmd/main.go wires them; only the image's redis is replaced.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alicebob/miniredis/v2"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd application-controller|repo-server|redis [flags]")
		os.Exit(2)
	}
	// As Argo CD's cmd/main.go does for every component.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))

	var command *cobra.Command
	switch os.Args[1] {
	case "application-controller":
		command = appcontroller.NewCommand()
	case "repo-server":
		command = reposerver.NewCommand()
	case "redis":
		os.Exit(redis(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "unknown component %q\n", os.Args[1])
		os.Exit(2)
	}
	command.SetArgs(os.Args[2:])
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}

// redis serves miniredis until SIGTERM or SIGINT: Argo CD uses redis as a cache only (GET/SET with
// expiry), which miniredis implements, and the tests have no container to run the real one.
func redis(args []string) int {
	fs := flag.NewFlagSet("redis", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(*addr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "redis listening on %s\n", m.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	m.Close()
	return 0
}
