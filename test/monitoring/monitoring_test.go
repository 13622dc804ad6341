package monitoring

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

const root = "../.."

// TestRulesLoad loads the alerts as Prometheus does (promtool check rules uses the same
// parser): known fields only, valid expressions, durations and annotation templates.
func TestRulesLoad(t *testing.T) {
	groups, err := RuleGroups(root)
	if err != nil {
		t.Fatal(err)
	}
	rgs, errs := rulefmt.Parse(groups, false, model.UTF8Validation, Parser, nil)
	for _, err := range errs {
		t.Error(err)
	}
	if rgs == nil {
		t.Fatal("no rule groups")
	}
	n := 0
	for _, g := range rgs.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" {
				t.Errorf("group %s: a rule without alert (recording rules are not shipped)", g.Name)
			}
			if !slices.Contains([]string{"info", "warning", "critical"}, r.Labels["severity"]) {
				t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: needs a summary and a description", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Error("no alerts")
	}
}

func TestDashboardLoads(t *testing.T) {
	d, err := ReadDashboard(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || d.Schema == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d", d.UID, d.Title, d.Schema)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] {
		t.Error("no datasource variable: the dashboard would be tied to one Prometheus")
	}
	ids := map[int]bool{}
	targets := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range append([]*Datasource{p.Datasource}, targetSources(p)...) {
			if tg == nil || tg.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, tg)
			}
		}
		for _, tg := range p.Targets {
			targets++
			for _, ref := range variableRefs(tg.Expr) {
				if !vars[ref] && !strings.HasPrefix(ref, "__") {
					t.Errorf("panel %q uses undefined variable $%s", p.Title, ref)
				}
			}
		}
	}
	if targets == 0 {
		t.Error("no queries")
	}
}

func targetSources(p Panel) []*Datasource {
	var out []*Datasource
	for _, t := range p.Targets {
		out = append(out, t.Datasource)
	}
	return out
}

// variableRefs lists the $name references of a query.
func variableRefs(q string) []string {
	var out []string
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			continue
		}
		j := i + 1
		if j < len(q) && q[j] == '{' {
			j++
		}
		k := j
		for k < len(q) && (q[k] == '_' || q[k] >= 'a' && q[k] <= 'z' || q[k] >= 'A' && q[k] <= 'Z' || q[k] >= '0' && q[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, q[j:k])
		}
	}
	return out
}

// TestEveryExpressionParses: a typo in a panel or an alert is caught here, not by a blank panel.
func TestEveryExpressionParses(t *testing.T) {
	refs, err := ReferencedMetrics(root)
	if err != nil {
		t.Fatal(err)
	}
	for name := range refs {
		if !strings.HasPrefix(name, "talis_operator_") && !strings.HasPrefix(name, "controller_runtime_") &&
			!strings.HasPrefix(name, "workqueue_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "go_") {
			t.Errorf("%s (used by %v) is not a metric of the manager's registry", name, refs[name])
		}
	}
}

func TestMetricNames(t *testing.T) {
	got, err := MetricNames(`histogram_quantile(0.9, sum by (le) (rate(a_bucket{job=~"$job"}[5m]))) / on() b or {__name__="c"}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a_bucket", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := MetricNames(`sum(rate(a[$__rate_interval]))`); err == nil {
		t.Error("an unreplaced Grafana variable parsed")
	}
	if _, err := MetricNames(`{job="x"}`); err == nil {
		t.Error("a selector without a metric name was accepted")
	}
}

// TestChartCopiesMatch: the chart cannot read files outside its directory, so it ships copies.
func TestChartCopiesMatch(t *testing.T) {
	for src, dst := range map[string]string{DashboardPath: ChartDashboardPath, RulesPath: ChartRulesPath} {
		a, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: cp %s %s", dst, src, src, dst)
		}
	}
}
