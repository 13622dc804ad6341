package harness

import (
	"strings"

	"github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"
)

// Inventory is inventory.yaml as Ansible reads it: all.children.<group>.hosts.<host>.
type Inventory struct {
	All struct {
		Children map[string]struct {
			Hosts map[string]map[string]any `yaml:"hosts"`
		} `yaml:"children"`
	} `yaml:"all"`
}

// ParseInventory reads inventory.yaml and checks it quotes what a YAML 1.1 reader would misread.
func ParseInventory(g gomega.Gomega, s string) Inventory {
	var inv Inventory
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	g.Expect(dec.Decode(&inv)).To(gomega.Succeed(), "inventory.yaml:\n%s", s)
	// A YAML 1.1 reader (Ansible's) must see strings too: every scalar but talis_id is quoted.
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		if !strings.HasPrefix(k, "all") && !strings.HasPrefix(k, "children") && !strings.HasPrefix(k, "hosts") {
			g.Expect(strings.HasPrefix(k, `"`) || k == "ansible_host" || k == "talis_id").To(gomega.BeTrue(), "unquoted key in %q", line)
		}
		if k == "ansible_host" {
			g.Expect(v).To(gomega.HavePrefix(`"`), line)
		}
	}
	return inv
}
