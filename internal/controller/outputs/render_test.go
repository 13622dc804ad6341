package outputs

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

func host(id int64, name, state, ip string) infrav1.TalisInstance {
	return infrav1.TalisInstance{ID: id, Name: name, State: state, PublicIP: ip}
}

func TestRenderOutputsFormats(t *testing.T) {
	g := NewWithT(t)
	gone := host(2, "web-a1-2", "ready", "203.0.113.2")
	gone.TerminatingSince = &metav1.Time{}
	instances := []infrav1.TalisInstance{
		host(3, "web-a2", "provisioning", ""),
		host(1, "web-a1-1", "ready", "203.0.113.1"),
		gone,
		host(4, "web-a2-1", "ready", "2001:db8::4"),
	}
	data := Render("web.prod-1", nil, instances)
	g.Expect(data).To(HaveLen(3))
	g.Expect(data[infrav1.OutputsKeyIPs]).To(Equal("203.0.113.1\n2001:db8::4\n"))

	var got []outputInstance
	g.Expect(json.Unmarshal([]byte(data[infrav1.OutputsKeyJSON]), &got)).To(Succeed())
	g.Expect(got).To(Equal([]outputInstance{
		{ID: 1, Name: "web-a1-1", PublicIP: "203.0.113.1", State: "ready", Ready: true},
		{ID: 3, Name: "web-a2", State: "provisioning"},
		{ID: 4, Name: "web-a2-1", PublicIP: "2001:db8::4", State: "ready", Ready: true},
	}))

	inv := harness.ParseInventory(g, data[infrav1.OutputsKeyAnsible])
	g.Expect(inv.All.Children).To(HaveKey("web_prod_1"))
	g.Expect(inv.All.Children["web_prod_1"].Hosts).To(Equal(map[string]map[string]any{
		"web-a1-1": {"ansible_host": "203.0.113.1", "talis_id": 1},
		"web-a2-1": {"ansible_host": "2001:db8::4", "talis_id": 4},
	}))

	only := Render("web", []infrav1.OutputFormat{infrav1.OutputIPs}, instances)
	g.Expect(only).To(HaveKey(infrav1.OutputsKeyIPs))
	g.Expect(only).To(HaveLen(1))
}

// The same status renders to the same bytes, whatever order it lists instances in.
func TestRenderOutputsDeterministic(t *testing.T) {
	g := NewWithT(t)
	a := []infrav1.TalisInstance{host(5, "b", "ready", "198.51.100.5"), host(2, "a", "ready", "198.51.100.2"), host(9, "", "ready", "198.51.100.9")}
	b := []infrav1.TalisInstance{a[2], a[0], a[1]}
	first := Render("web", nil, a)
	for range 20 {
		g.Expect(Render("web", nil, b)).To(Equal(first))
	}
	g.Expect(strings.Index(first[infrav1.OutputsKeyAnsible], `"a"`)).To(BeNumerically("<", strings.Index(first[infrav1.OutputsKeyAnsible], `"b"`)))
}

func TestRenderOutputsEmpty(t *testing.T) {
	g := NewWithT(t)
	data := Render("web", nil, nil)
	g.Expect(data[infrav1.OutputsKeyIPs]).To(BeEmpty())
	g.Expect(data[infrav1.OutputsKeyJSON]).To(Equal("[]\n"))
	inv := harness.ParseInventory(g, data[infrav1.OutputsKeyAnsible])
	g.Expect(inv.All.Children).To(HaveKey("web"))
	g.Expect(inv.All.Children["web"].Hosts).To(BeEmpty())
}

// Status IPs come from Talis: only addresses a tool may connect to are published, canonical.
func TestPublishableIP(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.7":                "203.0.113.7",
		"2001:DB8:0:0:0:0:0:1":       "2001:db8::1",
		"1:2:3:4:5:6:7:8":            "1:2:3:4:5:6:7:8",
		"10.0.0.4":                   "10.0.0.4",
		"::ffff:203.0.113.9":         "::ffff:203.0.113.9",
		"":                           "",
		"203.0.113.300":              "",
		"203.000.113.7":              "",
		" 203.0.113.7":               "",
		"203.0.113.7\n127.0.0.1":     "",
		"203.0.113.7 ansible_user=x": "",
		"fe80::1%eth0":               "",
		"fe80::1":                    "",
		"169.254.169.254":            "",
		"127.0.0.1":                  "",
		"::ffff:127.0.0.1":           "",
		"::1":                        "",
		"0.0.0.0":                    "",
		"::":                         "",
		"224.0.0.1":                  "",
		"ff02::1":                    "",
		"example.com":                "",
		`"; rm -rf /`:                "",
	} {
		t.Run(ip, func(t *testing.T) {
			NewWithT(t).Expect(publishableIP(ip)).To(Equal(want))
		})
	}
}

// Hostile Talis names and IPs never reach the inventory as anything but sanitized hosts.
func TestRenderInventoryHostileInput(t *testing.T) {
	cases := []struct {
		name      string
		set       string
		instances []infrav1.TalisInstance
		group     string
		hosts     map[string]string // host → ansible_host
	}{{
		name: "plain names kept", set: "web",
		instances: []infrav1.TalisInstance{host(1, "web-a1-1", "ready", "203.0.113.1"), host(2, "Db.Example.com", "ready", "203.0.113.2")},
		group:     "web", hosts: map[string]string{"web-a1-1": "203.0.113.1", "Db.Example.com": "203.0.113.2"},
	}, {
		name: "empty, repeated and odd names fall back to talis-<id>", set: "web",
		instances: []infrav1.TalisInstance{
			host(1, "", "ready", "203.0.113.1"),
			host(2, "dup", "ready", "203.0.113.2"), host(3, "DUP", "ready", "203.0.113.3"),
			host(4, "a b", "ready", "203.0.113.4"), host(5, "x:\n  ansible_host: 127.0.0.1", "ready", "203.0.113.5"),
			host(6, "-lead", "ready", "203.0.113.6"), host(7, "trail.", "ready", "203.0.113.7"),
			host(8, "naïve", "ready", "203.0.113.8"), host(9, "\x00\xff", "ready", "203.0.113.9"),
			host(10, strings.Repeat("a", 64), "ready", "203.0.113.10"),
			host(11, `"quoted"`, "ready", "203.0.113.11"), host(12, "{{ lookup('pipe','id') }}", "ready", "203.0.113.12"),
		},
		group: "web", hosts: map[string]string{
			"talis-1": "203.0.113.1", "talis-2": "203.0.113.2", "talis-3": "203.0.113.3", "talis-4": "203.0.113.4",
			"talis-5": "203.0.113.5", "talis-6": "203.0.113.6", "talis-7": "203.0.113.7", "talis-8": "203.0.113.8",
			"talis-9": "203.0.113.9", "talis-10": "203.0.113.10", "talis-11": "203.0.113.11", "talis-12": "203.0.113.12",
		},
	}, {
		name: "a name shaped like another instance's fallback cannot take it", set: "web",
		instances: []infrav1.TalisInstance{host(1, "", "ready", "203.0.113.1"), host(2, "talis-1", "ready", "203.0.113.2"), host(3, "talis-3", "ready", "203.0.113.3")},
		group:     "web", hosts: map[string]string{"talis-1": "203.0.113.1", "talis-2": "203.0.113.2", "talis-3": "203.0.113.3"},
	}, {
		name: "invalid IPs and not-ready instances are left out", set: "web",
		instances: []infrav1.TalisInstance{
			host(1, "a", "ready", "127.0.0.1"), host(2, "b", "ready", "not-an-ip"), host(3, "c", "provisioning", "203.0.113.3"),
			host(4, "d", "ready", "1:2:3:4:5:6:7:8"),
		},
		group: "web", hosts: map[string]string{"d": "1:2:3:4:5:6:7:8"},
	}, {
		name: "duplicate IDs are one host", set: "web",
		instances: []infrav1.TalisInstance{host(1, "a", "ready", "203.0.113.1"), host(1, "a", "ready", "203.0.113.1")},
		group:     "web", hosts: map[string]string{"a": "203.0.113.1"},
	}, {
		name: "set names YAML would read as other types", set: "true",
		instances: []infrav1.TalisInstance{host(1, "null", "ready", "203.0.113.1"), host(2, "1e3", "ready", "203.0.113.2"), host(3, "0x10", "ready", "203.0.113.3")},
		group:     "true", hosts: map[string]string{"null": "203.0.113.1", "1e3": "203.0.113.2", "0x10": "203.0.113.3"},
	}, {
		name: "dots and dashes in the set name", set: "a.b-c.123",
		instances: []infrav1.TalisInstance{host(1, "h", "ready", "203.0.113.1")},
		group:     "a_b_c_123", hosts: map[string]string{"h": "203.0.113.1"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			out := renderInventory(c.set, liveByID(c.instances))
			inv := harness.ParseInventory(g, out)
			g.Expect(inv.All.Children).To(HaveLen(1))
			g.Expect(inv.All.Children).To(HaveKey(c.group))
			got := map[string]string{}
			for host, vars := range inv.All.Children[c.group].Hosts {
				g.Expect(vars).To(HaveLen(2), host)
				g.Expect(vars).To(HaveKey("talis_id"))
				got[host] = vars["ansible_host"].(string)
			}
			g.Expect(got).To(Equal(c.hosts), out)
		})
	}
}

// JSON carries hostile names as data: it parses, and bad IPs are blank.
func TestRenderJSONHostileInput(t *testing.T) {
	g := NewWithT(t)
	in := []infrav1.TalisInstance{host(1, "\"},{\"id\":99", "ready", "127.0.0.1"), host(2, "\x00\xff</script>", "weird\nstate", "203.0.113.2")}
	var got []outputInstance
	g.Expect(json.Unmarshal([]byte(renderJSON(liveByID(in))), &got)).To(Succeed())
	g.Expect(got).To(HaveLen(2))
	g.Expect(got[0].Name).To(Equal("\"},{\"id\":99"))
	g.Expect(got[0].PublicIP).To(BeEmpty())
	g.Expect(got[1].PublicIP).To(Equal("203.0.113.2"))
	g.Expect(got[1].Ready).To(BeFalse())
}
