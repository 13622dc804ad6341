package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// monitoringValues turn on every monitoring option of the chart.
var monitoringValues = []string{"--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
	"--set", "prometheusRule.labels.release=kube-prometheus", "--set", "grafanaDashboard.enabled=true",
	"--set", "grafanaDashboard.namespace=monitoring"}

func TestHelmMonitoringIsOptional(t *testing.T) {
	g := NewWithT(t)
	objs := helmTemplate(t)
	g.Expect(objs.ofKind("PrometheusRule")).To(BeEmpty())
	g.Expect(dashboardConfigMaps(t, objs)).To(BeEmpty())
}

// TestHelmMonitoring renders the alerts and the dashboard as config/prometheus has them.
func TestHelmMonitoring(t *testing.T) {
	g := NewWithT(t)
	objs := helmTemplate(t, monitoringValues...)
	dryRun(t, objs)

	rules := objs.ofKind("PrometheusRule")
	g.Expect(rules).To(HaveLen(1))
	g.Expect(rules[0].GetAPIVersion()).To(Equal("monitoring.coreos.com/v1"))
	g.Expect(rules[0].GetNamespace()).To(Equal("talis-system"))
	g.Expect(rules[0].GetLabels()).To(HaveKeyWithValue("release", "kube-prometheus"))
	shipped := readObjects(t, "config/prometheus/prometheus-rule.yaml")
	g.Expect(shipped).To(HaveLen(1))
	g.Expect(rules[0].Object["spec"]).To(Equal(shipped[0].Object["spec"]), "the chart's alerts differ from config/prometheus's")

	checkDashboardConfigMap(t, objs, "monitoring")
}

func dashboardConfigMaps(t *testing.T, objs objects) []*corev1.ConfigMap {
	t.Helper()
	var out []*corev1.ConfigMap
	for _, cm := range typed[corev1.ConfigMap](t, objs, "ConfigMap") {
		if _, ok := cm.Data["talis-operator.json"]; ok {
			out = append(out, cm)
		}
	}
	return out
}

// checkDashboardConfigMap wants one ConfigMap in ns, labelled for Grafana's sidecar, holding
// config/prometheus's dashboard.
func checkDashboardConfigMap(t *testing.T, objs objects, ns string) {
	t.Helper()
	g := NewWithT(t)
	cms := dashboardConfigMaps(t, objs)
	g.Expect(cms).To(HaveLen(1))
	g.Expect(cms[0].Namespace).To(Equal(ns))
	g.Expect(cms[0].Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	want, err := os.ReadFile(filepath.Join(repoRoot, "config/prometheus/grafana-dashboard.json"))
	g.Expect(err).NotTo(HaveOccurred())
	var got, shipped any
	g.Expect(yaml.Unmarshal([]byte(cms[0].Data["talis-operator.json"]), &got)).To(Succeed())
	g.Expect(yaml.Unmarshal(want, &shipped)).To(Succeed())
	g.Expect(got).To(Equal(shipped))
	g.Expect(strings.TrimSpace(cms[0].Data["talis-operator.json"])).To(Equal(strings.TrimSpace(string(want))))
}
