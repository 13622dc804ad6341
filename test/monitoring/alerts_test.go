package monitoring

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// alertExpr is the expression of the named alert as shipped.
func alertExpr(t *testing.T, name string) string {
	t.Helper()
	exprs, err := Expressions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exprs {
		if e.Where == "alert "+name {
			return e.Query
		}
	}
	t.Fatalf("no alert %s", name)
	return ""
}

// firing evaluates expr with Prometheus's engine over series that each hold one value for the
// last ten minutes, and returns the label sets it yields (each one an alert that would fire).
func firing(t *testing.T, expr string, series map[string]float64) []string {
	t.Helper()
	now := time.Now()
	var all []storage.Series
	for text, v := range series {
		lset, err := Parser.ParseMetric(text)
		if err != nil {
			t.Fatal(err)
		}
		var samples []chunks.Sample
		for ts := now.Add(-10 * time.Minute); !ts.After(now); ts = ts.Add(30 * time.Second) {
			samples = append(samples, floatSample{ts.UnixMilli(), v})
		}
		all = append(all, storage.NewListSeries(lset, samples))
	}
	q := &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			var out []storage.Series
			for _, s := range all {
				if matchesAll(s.Labels(), ms) {
					out = append(out, s)
				}
			}
			slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
			return &seriesList{series: out, i: -1}
		}}}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	query, err := engine.NewInstantQuery(context.Background(), q, nil, expr, now)
	if err != nil {
		t.Fatal(err)
	}
	res := query.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range vec {
		out = append(out, s.Metric.String())
	}
	slices.Sort(out)
	return out
}

// The NotSynced alert fires for a set that cannot reach Talis, not for one a person paused
// (the paused annotation stops every Talis call, so Synced is False by design).
func TestNotSyncedAlertLeavesPausedSetsAlone(t *testing.T) {
	got := firing(t, alertExpr(t, "TalisInstanceSetNotSynced"), map[string]float64{
		`talis_operator_instanceset_synced{namespace="a",set="failing",pod="m1"}`: 0,
		`talis_operator_instanceset_paused{namespace="a",set="failing",pod="m1"}`: 0,
		`talis_operator_instanceset_synced{namespace="a",set="paused",pod="m1"}`:  0,
		`talis_operator_instanceset_paused{namespace="a",set="paused",pod="m1"}`:  1,
		`talis_operator_instanceset_synced{namespace="a",set="fine",pod="m1"}`:    1,
		`talis_operator_instanceset_paused{namespace="a",set="fine",pod="m1"}`:    0,
	})
	if want := []string{`{namespace="a", set="failing"}`}; !slices.Equal(got, want) {
		t.Errorf("alerts for %v, want %v", got, want)
	}
}

func matchesAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

type seriesList struct {
	series []storage.Series
	i      int
}

func (s *seriesList) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesList) At() storage.Series                { return s.series[s.i] }
func (s *seriesList) Err() error                        { return nil }
func (s *seriesList) Warnings() annotations.Annotations { return nil }

type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                      { return s.t }
func (s floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                    { return s.f }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { return s }
