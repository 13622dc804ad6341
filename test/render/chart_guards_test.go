package render

import (
	"os/exec"
	"strings"
	"testing"
)

// helmRefuses renders the chart with args and returns helm's output, failing the test if the
// rendering succeeds.
func helmRefuses(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), helm, append([]string{"template", "talis-operator", chart, "--namespace", "talis-system"}, args...)...)
	cmd.Dir, cmd.Env = repoRoot, helmEnv
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("helm template %v succeeded; want an error", args)
	}
	return string(out)
}

// TestHelmRefusesMistakes: each mistake fails the rendering with a message that says what is
// wrong, from values.schema.json (typos, types, ranges) or from templates/_validate.tpl
// (combinations the schema cannot express).
func TestHelmRefusesMistakes(t *testing.T) {
	const noEviction = "lets no manager pod be evicted"
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		// Schema: a misspelt value is an error, not silently dropped.
		{"misspelt nested value", []string{"--set", "talis.URL=https://talis.example.com"}, "at '/talis': additional properties 'URL' not allowed"},
		{"unknown top-level value", []string{"--set", "replicas=2"}, "additional properties 'replicas' not allowed"},
		{"misspelt image value", []string{"--set", "image.tags=v1"}, "at '/image': additional properties 'tags' not allowed"},
		{"misspelt budget value", []string{"--set", "podDisruptionBudget.minAvailble=1"}, "at '/podDisruptionBudget': additional properties 'minAvailble' not allowed"},
		{"misspelt spread constraint", []string{"--set", "topologySpreadConstraints[0].maxSkew=1", "--set", "topologySpreadConstraints[0].topologyKey=zone",
			"--set", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule", "--set", "topologySpreadConstraints[0].labelselector.a=b"}, "additional properties 'labelselector' not allowed"},
		{"negative replicas", []string{"--set", "replicaCount=-1"}, "at '/replicaCount': minimum: got -1, want 0"},
		{"replicas not a number", []string{"--set-string", "replicaCount=2"}, "at '/replicaCount': got string, want integer"},
		{"boolean misspelt", []string{"--set", "leaderElection.enabled=flase"}, "at '/leaderElection/enabled': got string, want boolean"},
		{"digest without algorithm", []string{"--set", "image.digest=" + strings.TrimPrefix(digest, "sha256:")}, "at '/image/digest'"},
		{"tag in repository", []string{"--set", "image.repository=ghcr.io/x/y:v1"}, "at '/image/repository'"},
		{"GOMEMLIMIT above the limit", []string{"--set", "goMemLimitPercent=120"}, "at '/goMemLimitPercent': maximum: got 120, want 100"},
		{"port out of range", []string{"--set", "metrics.port=70000"}, "at '/metrics/port'"},
		{"extraArgs not a flag", []string{"--set", "extraArgs={concurrency=4}"}, "at '/extraArgs/0'"},

		// Templates: combinations.
		{"replicas without leader election", []string{"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"},
			"replicaCount 2 needs leaderElection.enabled"},
		{"two CA sources", []string{"--set", "talis.caBundle.configMap=a", "--set", "talis.caBundle.secret=b"}, "talis.caBundle: set configMap or secret, not both"},
		{"ServiceMonitor without metrics", []string{"--set", "serviceMonitor.enabled=true", "--set", "metrics.enabled=false"}, "serviceMonitor.enabled needs metrics.enabled"},
		{"metrics and probes on one port", []string{"--set", "metrics.port=8081"}, "metrics.port and healthProbe.port are both 8081"},
		{"no service account name", []string{"--set", "serviceAccount.create=false"}, "serviceAccount.name is required when serviceAccount.create is false"},
		{"memory limit GOMEMLIMIT cannot read", []string{"--set", "resources.limits.memory=1e9"}, `resources.limits.memory "1e9": to derive GOMEMLIMIT from it`},

		// Disruption budgets that would block every node drain, or say two things.
		{"budget for a single replica", []string{"--set", "podDisruptionBudget.enabled=true"}, "minAvailable 1 (the default) with replicaCount 1 " + noEviction},
		{"budget keeping every replica", []string{"--set", "replicaCount=2", "--set", "podDisruptionBudget.minAvailable=2"}, "minAvailable 2 with replicaCount 2 " + noEviction},
		{"budget of 100%", []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.minAvailable=100%"}, noEviction},
		{"budget with no unavailable", []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.maxUnavailable=0"}, noEviction},
		{"budget min and max", []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.minAvailable=1", "--set", "podDisruptionBudget.maxUnavailable=1"},
			"podDisruptionBudget: set minAvailable or maxUnavailable, not both"},

		// Extras that would override or contradict what values set.
		{"extraEnv GOMEMLIMIT", []string{"--set", "extraEnv[0].name=GOMEMLIMIT", "--set", "extraEnv[0].value=1GiB"}, "extraEnv: GOMEMLIMIT belongs to the chart value goMemLimitPercent"},
		{"extraEnv TALIS_API_KEY", []string{"--set", "extraEnv[0].name=TALIS_API_KEY", "--set", "extraEnv[0].valueFrom.secretKeyRef.name=x"}, "extraEnv: TALIS_API_KEY belongs to the chart value talis.apiKeySecret"},
		{"extraEnv WATCH_NAMESPACES", []string{"--set", "extraEnv[0].name=WATCH_NAMESPACES", "--set", "extraEnv[0].value=a"}, "extraEnv: WATCH_NAMESPACES belongs to the chart value watchNamespaces"},
		{"extraEnv twice", []string{"--set", "extraEnv[0].name=A", "--set", "extraEnv[0].value=x", "--set", "extraEnv[1].name=A", "--set", "extraEnv[1].value=y"}, "extraEnv: A is set twice"},
		{"extraArgs --watch-namespaces", []string{"--set", "extraArgs={--watch-namespaces=team-a}"}, "extraArgs: --watch-namespaces belongs to the chart value watchNamespaces"},
		{"extraArgs --leader-elect", []string{"--set", "extraArgs={--leader-elect=false}"}, "extraArgs: --leader-elect belongs to the chart value leaderElection.enabled"},
		{"extraVolumes twice", []string{"--set", "talis.caBundle.configMap=ca", "--set", "extraVolumes[0].name=talis-ca", "--set", "extraVolumes[0].emptyDir.medium=Memory"},
			"extraVolumes: volume talis-ca is defined twice"},
		{"mount of no volume", []string{"--set", "extraVolumeMounts[0].name=tmp", "--set", "extraVolumeMounts[0].mountPath=/tmp"},
			"extraVolumeMounts: /tmp mounts volume tmp, which is not in extraVolumes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if out := helmRefuses(t, c.args...); !strings.Contains(out, c.want) {
				t.Errorf("helm template %v failed without saying %q:\n%s", c.args, c.want, out)
			}
		})
	}
}
