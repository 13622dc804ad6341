// Package monitoring reads the shipped Grafana dashboard and Prometheus alerts
// (config/prometheus) and tells which metrics their PromQL expressions name, so that tests can
// check them against what the manager exposes.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Paths of the shipped files, relative to the repository root, and of their chart copies.
const (
	DashboardPath      = "config/prometheus/grafana-dashboard.json"
	RulesPath          = "config/prometheus/prometheus-rule.yaml"
	ChartDashboardPath = "charts/talis-operator/files/grafana-dashboard.json"
	ChartRulesPath     = "charts/talis-operator/files/prometheus-rule.yaml"
)

// Expr is one PromQL expression and where it is used.
type Expr struct {
	Where string
	Query string
}

// Dashboard is the part of a Grafana dashboard the tests look at.
type Dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Schema     int     `json:"schemaVersion"`
	Panels     []Panel `json:"panels"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel; rows hold none of their own targets here.
type Panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *Datasource              `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *Datasource `json:"datasource"`
	} `json:"targets"`
}

// Datasource names the data source a panel or a target queries.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// ReadDashboard decodes the dashboard.
func ReadDashboard(root string) (*Dashboard, error) {
	data, err := os.ReadFile(filepath.Join(root, DashboardPath))
	if err != nil {
		return nil, err
	}
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardPath, err)
	}
	return &d, nil
}

// RuleGroups is the spec.groups of the PrometheusRule as Prometheus's own rule file format.
func RuleGroups(root string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(root, RulesPath))
	if err != nil {
		return nil, err
	}
	var pr struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups json.RawMessage `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &pr); err != nil {
		return nil, fmt.Errorf("%s: %w", RulesPath, err)
	}
	if pr.Kind != "PrometheusRule" || len(pr.Spec.Groups) == 0 {
		return nil, fmt.Errorf("%s: not a PrometheusRule with spec.groups", RulesPath)
	}
	groups, err := yaml.JSONToYAML(append(append([]byte(`{"groups":`), pr.Spec.Groups...), '}'))
	if err != nil {
		return nil, err
	}
	return groups, nil
}

// grafanaDurations are Grafana's interval variables, which stand where PromQL wants a duration.
var grafanaDurations = strings.NewReplacer("$__rate_interval", "5m", "${__rate_interval}", "5m",
	"$__interval", "1m", "${__interval}", "1m", "$__range", "6h", "${__range}", "6h")

// labelValues is Grafana's variable query label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// Expressions lists every PromQL expression of the dashboard (panel targets and variable
// queries, with Grafana's interval variables replaced by durations) and of the alerts.
func Expressions(root string) ([]Expr, error) {
	d, err := ReadDashboard(root)
	if err != nil {
		return nil, err
	}
	var out []Expr
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			out = append(out, Expr{Where: fmt.Sprintf("dashboard panel %q target %s", p.Title, t.RefID), Query: grafanaDurations.Replace(t.Expr)})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, fmt.Errorf("dashboard variable %q: %w", v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			return nil, fmt.Errorf("dashboard variable %q: query %q is not label_values(selector, label)", v.Name, q.Query)
		}
		out = append(out, Expr{Where: fmt.Sprintf("dashboard variable %q", v.Name), Query: m[1]})
	}
	groups, err := RuleGroups(root)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(groups, &rf); err != nil {
		return nil, err
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out = append(out, Expr{Where: fmt.Sprintf("alert %s", r.Alert), Query: r.Expr})
		}
	}
	return out, nil
}

// Parser is the PromQL parser the checks use, with Prometheus's default (non-experimental) options.
var Parser = parser.NewParser(parser.Options{})

// MetricNames parses q and returns the metric names its selectors name.
func MetricNames(q string) ([]string, error) {
	e, err := Parser.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	var names []string
	var missing error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			missing = fmt.Errorf("selector %s names no metric", vs)
			return nil
		}
		names = append(names, name)
		return nil
	})
	return names, missing
}

// ReferencedMetrics maps every metric name the dashboard and the alerts use to where it is used.
func ReferencedMetrics(root string) (map[string][]string, error) {
	exprs, err := Expressions(root)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range exprs {
		names, err := MetricNames(e.Query)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", e.Where, e.Query, err)
		}
		for _, n := range names {
			out[n] = append(out[n], e.Where)
		}
	}
	return out, nil
}
