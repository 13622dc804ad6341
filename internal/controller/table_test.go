package controller

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// printedRow is the server-side table row kubectl get -o wide prints for one object, by column name.
func printedRow(g Gomega, resource, ns, name string) map[string]string {
	hc, err := rest.HTTPClientFor(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(suiteCtx, http.MethodGet,
		fmt.Sprintf("%s/apis/infra.talis.io/v1alpha1/namespaces/%s/%s/%s", strings.TrimSuffix(cfg.Host, "/"), ns, resource, name), nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
	var t metav1.Table
	g.Expect(json.Unmarshal(body, &t)).To(Succeed())
	g.Expect(t.Rows).To(HaveLen(1))
	row := map[string]string{}
	for i, c := range t.ColumnDefinitions {
		if v := t.Rows[0].Cells[i]; v != nil {
			row[c.Name] = fmt.Sprint(v)
		}
	}
	return row
}
