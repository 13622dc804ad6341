// Command manager runs the talis-operator controllers.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	goruntime "runtime"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller"
	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/metricsauth"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	zapOpts := zap.Options{}
	o, err := parseFlagsWithZap(args, &zapOpts)
	if err != nil {
		return err
	}
	if o.showVersion {
		_, err := fmt.Fprintln(stdout, versionString())
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	metrics.SetBuildInfo(versionAndCommit())
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(infrav1.AddToScheme(scheme))

	key, err := o.apiKey()
	if err != nil {
		return err
	}
	httpClient, err := talisHTTPClient(o.talisCAFile)
	if err != nil {
		return err
	}

	if o.pprofAddr != "" {
		goruntime.SetMutexProfileFraction(5)
		goruntime.SetBlockProfileRate(int(time.Millisecond))
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics}
	if o.secureMetrics {
		metricsOpts.FilterProvider = metricsauth.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "talis-operator.infra.talis.io",
		LeaderElectionNamespace: o.leaderElectNS,
		// Stop reconciling at once when leadership is lost: a second leader may already act.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controller.CacheOptions(o.namespaces()),
		PprofBindAddress:              o.pprofAddr,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	clusterID, err := o.clusterIdentity(mgr.GetAPIReader())
	if err != nil {
		return err
	}
	conns := talisconn.NewRegistry(talisconn.Defaults{
		URL: o.talisURL, APIKey: key, OwnerID: o.defaultOwnerID, AllowedURLs: o.allowedTalisURLs(), ClusterID: clusterID,
		Options: func(to *talis.Options) {
			to.Timeout = o.talisTimeout
			to.RateLimit, to.Burst = o.talisRateLimit, o.talisBurst
			to.HTTPClient = httpClient
			to.UserAgent = "talis-operator"
			to.Observer = metrics.ObserveCall
		},
	}, mgr.GetAPIReader())
	// An endpoint's snapshot is forgotten once nobody has asked for it for a while; the drift
	// watch asks for every endpoint with sets each --drift-interval.
	obs := observer.New(o.minListInterval, observer.WithIdleTTL(max(observer.DefaultIdleTTL, 4*o.timing.DriftPoll)))
	if err := controller.Setup(mgr, controller.Config{
		Conns: conns, Observer: obs, Timing: o.timing, Concurrency: o.concurrency,
	}); err != nil {
		return err
	}
	if err := mgr.Add(pruneClients(conns, o.timing.Resync)); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting manager", "talisURL", o.talisURL, "allowedTalisURLs", o.allowedTalisURLs(), "clusterID", clusterID,
		"defaultOwnerID", o.defaultOwnerID, "apiKeySet", key != "")
	return mgr.Start(ctrl.SetupSignalHandler())
}

// pruneClients drops, every resync period, the Talis clients no project or set has asked for
// in three of them: each object asks on every reconcile, and a steady set at least once per
// period, so only clients of deleted projects and rotated keys go.
func pruneClients(conns *talisconn.Registry, resync time.Duration) manager.RunnableFunc {
	return func(ctx context.Context) error {
		if resync <= 0 {
			return nil
		}
		t := time.NewTicker(resync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				conns.PruneIdle(3 * resync)
			}
		}
	}
}

// talisHTTPClient trusts the system CAs plus an optional bundle; TLS is always verified.
func talisHTTPClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --talis-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--talis-ca-file %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	// Like pkg/talis's default client, never follow redirects: net/http would send the apikey
	// header to whatever host a redirect names.
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}
