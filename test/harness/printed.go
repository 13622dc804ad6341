package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// PrintedRow is the row `kubectl get -o wide` prints for one infra.talis.io object (resource:
// talisinstancesets or talisprojects), by column name as the CRD spells it (kubectl prints it in
// capitals): the API server's own Table, printer columns evaluated on the stored object.
func PrintedRow(ctx context.Context, cfg *rest.Config, resource, ns, name string) (map[string]string, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/apis/infra.talis.io/v1alpha1/namespaces/%s/%s/%s", strings.TrimSuffix(cfg.Host, "/"), ns, resource, name), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("table of %s %s/%s: %s: %s", resource, ns, name, resp.Status, body)
	}
	var t metav1.Table
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, err
	}
	if len(t.Rows) != 1 {
		return nil, fmt.Errorf("table of %s %s/%s has %d rows", resource, ns, name, len(t.Rows))
	}
	row := map[string]string{}
	for i, c := range t.ColumnDefinitions {
		if v := t.Rows[0].Cells[i]; v != nil {
			row[c.Name] = fmt.Sprint(v)
		}
	}
	return row, nil
}

// WaitConditionMet says whether `kubectl wait --for=condition=<typ>` would return, by kubectl's
// own rule: the condition is True and its observedGeneration (else status.observedGeneration), if
// set, is not behind the object's generation.
func WaitConditionMet(generation, observedGeneration int64, conds []metav1.Condition, typ string) bool {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil {
		return false
	}
	observed := c.ObservedGeneration
	if observed == 0 {
		observed = observedGeneration
	}
	if observed != 0 && observed < generation {
		return false
	}
	return c.Status == metav1.ConditionTrue
}
