package controller

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/instanceset"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// One real kube-apiserver + etcd and one Talis emulator serve the whole package; every test
// works in a namespace of its own and starts and stops managers as it needs.
var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8s       client.Client
	scheme    = runtime.NewScheme()
	emu       *emulator.Server
	talisURL  string
	suiteCtx  context.Context
	suiteStop context.CancelFunc
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suiteCtx, suiteStop = context.WithCancel(context.Background())
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds kube-apiserver and etcd from source")

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(infrav1.AddToScheme(scheme)).To(Succeed())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// Uncapped dispatch: one emulator serves every spec, and the 1,000-replica rollout alone would
	// queue minutes of tasks for the specs after it at upstream's 10/s. The cap's effect on the
	// operator is measured by `make bench`'s capped rows.
	emu = emulator.New(emulator.Config{Seed: 1, Delays: suiteDelays, TasksPerSecond: -1})
	talisURL, err = emu.Start("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	suiteStop()
	if emu != nil {
		_ = emu.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// suiteDelays are the emulator's phase durations unless a test sets others.
var suiteDelays = emulator.Delays{
	Pickup: 50 * time.Millisecond, Create: 150 * time.Millisecond, Ready: 50 * time.Millisecond,
	Provision: 100 * time.Millisecond, Terminate: 100 * time.Millisecond,
}

// testTiming keeps every wait of the reconcilers short.
// suiteManagerKey is the manager's own API key in the suite: paths that only a manager with a
// key takes (its key only for its URL) are exercised by every spec.
const suiteManagerKey = "suite-manager-key"

func testTiming() shared.Timing {
	return shared.Timing{
		Resync: time.Minute, PollMin: 100 * time.Millisecond, PollMax: time.Second, ErrorRetry: time.Second,
		CreateAmbiguity: 3 * time.Second, TerminateRetry: 2 * time.Second, TerminateSettle: 3 * time.Second, MaxCreateBatch: 100,
		StrayGrace: time.Second,
	}
}

// runningManager is one manager process: its own cache, Talis clients and memory.
type runningManager struct {
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// Stop ends the manager and waits until it has stopped.
func (m *runningManager) Stop() {
	m.once.Do(func() { m.stop() })
	<-m.done
}

type managerOptions struct {
	hook instanceset.StepHook
	// apiKey is the manager's own key: suiteManagerKey unless noKey (every Helm install has one).
	apiKey  string
	noKey   bool
	timing  *shared.Timing
	clients func(*talis.Options)
	// wrapClient, if set, wraps the manager's Kubernetes client (the reconcilers' cached reads).
	wrapClient func(client.Client) client.Client
	// url defaults to the suite's emulator; owner to the admin owner.
	url         string
	owner       uint
	allowedURLs []string
	clusterID   string
	// restConfig defaults to the suite's apiserver.
	restConfig *rest.Config
	// logs, if set, receives the manager's log too.
	logs io.Writer
}

func startManager(o managerOptions) *runningManager {
	rc := cfg
	if o.restConfig != nil {
		rc = o.restConfig
	}
	url, owner := talisURL, uint(talis.AdminOwnerID)
	if o.url != "" {
		url = o.url
	}
	if o.owner != 0 {
		owner = o.owner
	}
	if o.apiKey == "" && !o.noKey {
		o.apiKey = suiteManagerKey
	}
	logger := logf.Log
	if o.logs != nil {
		logger = zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, o.logs)), zap.UseDevMode(true))
	}
	mgr, err := ctrl.NewManager(rc, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  logger,
		Cache:                   CacheOptions(nil),
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		GracefulShutdownTimeout: ptr.To(2 * time.Second),
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		NewClient: func(c *rest.Config, opts client.Options) (client.Client, error) {
			cl, err := client.New(c, opts)
			if err != nil || o.wrapClient == nil {
				return cl, err
			}
			return o.wrapClient(cl), nil
		},
	})
	Expect(err).NotTo(HaveOccurred())
	timing := testTiming()
	if o.timing != nil {
		timing = *o.timing
	}
	conns := talisconn.NewRegistry(talisconn.Defaults{
		URL: url, APIKey: o.apiKey, OwnerID: owner, AllowedURLs: o.allowedURLs, ClusterID: o.clusterID,
		Options: func(to *talis.Options) {
			to.Timeout = 2 * time.Second
			to.Retry = talis.RetryPolicy{MaxAttempts: 2, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
			if o.clients != nil {
				o.clients(to)
			}
		},
	}, mgr.GetAPIReader())
	Expect(Setup(mgr, Config{Conns: conns, Observer: observer.New(20 * time.Millisecond), Timing: timing, Concurrency: 4, Hook: o.hook})).To(Succeed())

	ctx, cancel := context.WithCancel(suiteCtx)
	m := &runningManager{stop: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(m.done)
		_ = mgr.Start(ctx)
	}()
	return m
}
