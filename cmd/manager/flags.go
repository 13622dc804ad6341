package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/talis-operator/talis-operator/internal/controller"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// options are the manager's flags; every Talis default can also come from the environment so
// that the API key never has to appear on a command line.
type options struct {
	metricsAddr     string
	secureMetrics   bool
	probeAddr       string
	pprofAddr       string
	leaderElect     bool
	leaderElectNS   string
	watchNamespaces string
	concurrency     int

	talisURL        string
	allowedURLs     string
	clusterID       string
	apiKeyFile      string
	defaultOwnerID  uint
	talisTimeout    time.Duration
	talisRateLimit  float64
	talisBurst      int
	talisCAFile     string
	minListInterval time.Duration

	timing controller.Timing

	showVersion bool
}

func parseFlagsWithZap(args []string, zapOpts *zap.Options) (*options, error) {
	o := &options{timing: controller.DefaultTiming()}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	zapOpts.BindFlags(fs)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "Address of the metrics endpoint (HTTPS unless --metrics-secure=false); 0 disables it.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of the net/http/pprof endpoints (with mutex and block profiling on); empty disables them.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one manager replica acts at a time.")
	fs.StringVar(&o.leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (defaults to the manager's namespace).")
	fs.StringVar(&o.watchNamespaces, "watch-namespaces", env("WATCH_NAMESPACES", ""), "Comma-separated namespaces to watch; empty watches all.")
	fs.IntVar(&o.concurrency, "concurrency", 8, "Reconciles run at once per kind.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")

	fs.StringVar(&o.talisURL, "talis-url", env("TALIS_URL", ""), "Default Talis API URL, with the gateway prefix if any (env TALIS_URL).")
	fs.StringVar(&o.allowedURLs, "allowed-talis-urls", env("TALIS_ALLOWED_URLS", ""), "Comma-separated Talis URLs TalisProjects may name in spec.connection.url besides --talis-url; \"*\" allows any (env TALIS_ALLOWED_URLS). The manager's API key is only ever sent to --talis-url.")
	fs.StringVar(&o.clusterID, "cluster-id", env("CLUSTER_ID", ""), "Identity of this cluster in Talis project names and instance tags, so that clusters sharing a Talis never touch each other's projects or instances; defaults to the UID of the kube-system namespace. Never change it once projects exist (env CLUSTER_ID).")
	fs.StringVar(&o.apiKeyFile, "talis-api-key-file", env("TALIS_API_KEY_FILE", ""), "File holding the default Talis API key (env TALIS_API_KEY_FILE; or set env TALIS_API_KEY).")
	fs.UintVar(&o.defaultOwnerID, "default-owner-id", talis.AdminOwnerID, "Talis owner ID of projects that do not set one (4294967295 is the only owner whose tasks Talis shows).")
	fs.DurationVar(&o.talisTimeout, "talis-timeout", talis.DefaultTimeout, "Timeout of one Talis HTTP request.")
	fs.Float64Var(&o.talisRateLimit, "talis-rate-limit", 10, "Talis requests per second per endpoint (0: unlimited).")
	fs.IntVar(&o.talisBurst, "talis-burst", 50, "Burst of the Talis rate limit.")
	fs.StringVar(&o.talisCAFile, "talis-ca-file", env("TALIS_CA_FILE", ""), "PEM bundle of CAs trusted for Talis TLS, in addition to the system's.")
	fs.DurationVar(&o.minListInterval, "talis-min-list-interval", time.Second, "Shortest gap between two instance list calls to one Talis endpoint.")

	fs.DurationVar(&o.timing.Resync, "resync-period", o.timing.Resync, "Poll interval of sets that are as wanted (jittered ±10%).")
	fs.DurationVar(&o.timing.PollMin, "poll-min", o.timing.PollMin, "First poll interval while instances are progressing.")
	fs.DurationVar(&o.timing.PollMax, "poll-max", o.timing.PollMax, "Longest poll interval while instances are progressing.")
	fs.DurationVar(&o.timing.ErrorRetry, "error-retry", o.timing.ErrorRetry, "Wait before retrying after an error a person or Talis must fix.")
	fs.DurationVar(&o.timing.DetailWrite, "status-detail-interval", o.timing.DetailWrite, "Least time between two status writes of a set when the second only adds instance detail (IDs, states short of ready); health and ready counts are written at once. 0 writes every change.")
	fs.DurationVar(&o.timing.MissingProjectGrace, "missing-project-grace", o.timing.MissingProjectGrace, "How long after a set is created a missing TalisProject is waited for before it is a Warning (applied together, sets often land first).")
	fs.DurationVar(&o.timing.MaxClockSkew, "max-clock-skew", o.timing.MaxClockSkew, "Most the clocks of two manager replicas (or of a manager and its successor after an upgrade) may differ by. A create is recorded and sent on one manager's clock and may be judged on another's: a manager waits for the sender's recorded window plus this much before it concludes that a create whose reply was lost created nothing. Talis's clock is taken to be as close: a Talis worker's lock on a create task counts as expired this much after its lock_expiry.")
	fs.DurationVar(&o.timing.TerminateRetry, "terminate-retry", o.timing.TerminateRetry, "Repeat a terminate call if the instance is still live after this long.")
	fs.DurationVar(&o.timing.TerminateSettle, "terminate-settle", o.timing.TerminateSettle, "For owners whose tasks Talis hides (or with --task-check 0): the least time an instance terminated before it was ever ready stays watched (Talis lets a create that is still running undo a terminate), on top of its provisioning timeout plus the create window after it was first seen; the set, and its deletion, wait for it. With tasks shown, the watch ends when Talis shows the create task done or its worker's lock expired.")
	fs.DurationVar(&o.timing.DriftPoll, "drift-interval", o.timing.DriftPoll, "How often each Talis endpoint's instance list is compared with what steady sets recorded, waking only those it contradicts (one list call per endpoint, whatever the number of sets); TalisProjects sweep the same list for instances of sets that no longer exist. 0 leaves both to --resync-period.")
	fs.DurationVar(&o.timing.TaskCheck, "task-check", o.timing.TaskCheck, "How long after it was recorded a not-ready instance has its create task read in Talis (owner 4294967295 only; later reads of it back off); 0 never reads tasks.")
	fs.DurationVar(&o.timing.FailureBackoff, "failure-backoff", o.timing.FailureBackoff, "First wait before replacing instances whose create task failed; doubles per failed attempt in a row up to the set's spec.replacementBackoffLimit.")
	fs.IntVar(&o.timing.StallAfter, "stall-after-failures", o.timing.StallAfter, "Create attempts in a row that may fail in Talis with the same error before a set stops creating (Stalled, ProvisioningFailing) until its spec changes; 0 never stops.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// A create is sent by its deadline (one request timeout after it was decided) or never; it
	// may still land until then plus a margin for the server.
	o.timing.CreateDeadline = o.talisTimeout
	o.timing.CreateAmbiguity = o.talisTimeout + 15*time.Second
	if o.timing.MaxClockSkew < 0 {
		return nil, fmt.Errorf("--max-clock-skew must not be negative")
	}
	if o.timing.StallAfter < 0 {
		return nil, fmt.Errorf("--stall-after-failures must not be negative")
	}
	if o.concurrency < 1 {
		return nil, fmt.Errorf("--concurrency must be at least 1")
	}
	if o.clusterID != "" && !validClusterID(o.clusterID) {
		return nil, fmt.Errorf("--cluster-id must be 1-63 letters, digits, '.', '_' or '-'")
	}
	return o, nil
}

// apiKey reads the default key from the file or the environment, never from a flag value.
func (o *options) apiKey() (string, error) {
	if o.apiKeyFile != "" {
		b, err := os.ReadFile(o.apiKeyFile)
		if err != nil {
			return "", fmt.Errorf("reading --talis-api-key-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv("TALIS_API_KEY"), nil
}

func (o *options) namespaces() []string { return splitList(o.watchNamespaces) }

func (o *options) allowedTalisURLs() []string { return splitList(o.allowedURLs) }

func splitList(list string) []string {
	var out []string
	for _, ns := range strings.Split(list, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func validClusterID(id string) bool {
	if len(id) > 63 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return id != ""
}
