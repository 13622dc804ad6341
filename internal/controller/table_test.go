package controller

import (
	. "github.com/onsi/gomega"

	"github.com/talis-operator/talis-operator/test/harness"
)

// printedRow is the server-side table row kubectl get -o wide prints for one object, by column name.
func printedRow(g Gomega, resource, ns, name string) map[string]string {
	row, err := harness.PrintedRow(suiteCtx, cfg, resource, ns, name)
	g.Expect(err).NotTo(HaveOccurred())
	return row
}
