package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// formatTable prints a server-side Table like kubectl does with -o wide (every column).
func formatTable(t *metav1.Table) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 3, ' ', 0)
	var head []string
	for _, c := range t.ColumnDefinitions {
		head = append(head, strings.ToUpper(c.Name))
	}
	fmt.Fprintln(tw, "  "+strings.Join(head, "\t"))
	for _, r := range t.Rows {
		var cells []string
		for _, c := range r.Cells {
			switch v := c.(type) {
			case nil:
				cells = append(cells, "<none>")
			case []any:
				var parts []string
				for _, p := range v {
					parts = append(parts, fmt.Sprint(p))
				}
				cells = append(cells, strings.Join(parts, ","))
			case float64:
				cells = append(cells, fmt.Sprint(int64(v)))
			default:
				cells = append(cells, fmt.Sprint(v))
			}
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	return b.String()
}
