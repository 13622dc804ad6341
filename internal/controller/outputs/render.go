package outputs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// Render is the data of a set's outputs ConfigMap (InstanceSetOutputs), one key per
// format. Everything in status came from Talis and may be anything, so IPs are checked and
// host names sanitized here; the same instances always render to the same bytes.
func Render(setName string, formats []infrav1.OutputFormat, instances []infrav1.TalisInstance) map[string]string {
	live := liveByID(instances)
	if len(formats) == 0 {
		formats = []infrav1.OutputFormat{infrav1.OutputIPs, infrav1.OutputJSON, infrav1.OutputAnsible}
	}
	data := map[string]string{}
	for _, f := range formats {
		switch f {
		case infrav1.OutputIPs:
			data[infrav1.OutputsKeyIPs] = renderIPs(live)
		case infrav1.OutputJSON:
			data[infrav1.OutputsKeyJSON] = renderJSON(live)
		case infrav1.OutputAnsible:
			data[infrav1.OutputsKeyAnsible] = renderInventory(setName, live)
		}
	}
	return data
}

// liveByID: the instances not being terminated, in ID order, each ID once.
func liveByID(instances []infrav1.TalisInstance) []infrav1.TalisInstance {
	var live []infrav1.TalisInstance
	for _, in := range instances {
		if in.TerminatingSince == nil {
			live = append(live, in)
		}
	}
	slices.SortStableFunc(live, func(a, b infrav1.TalisInstance) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(live, func(a, b infrav1.TalisInstance) bool { return a.ID == b.ID })
}

// publishableIP returns the address in canonical form, or "" when it is not one a tool should
// connect to: unparsable, with a zone, unspecified, loopback, link-local or multicast (an
// inventory entry for 127.0.0.1 would have Ansible configure the machine it runs on).
func publishableIP(s string) string {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return ""
	}
	if u := ip.Unmap(); u.IsUnspecified() || u.IsLoopback() || u.IsLinkLocalUnicast() || u.IsMulticast() {
		return ""
	}
	return ip.String()
}

// renderIPs: the IPs of the ready instances, one per line (status.publicIPs, checked).
func renderIPs(live []infrav1.TalisInstance) string {
	var b strings.Builder
	for _, in := range live {
		if ip := publishableIP(in.PublicIP); shared.InstanceReady(in) && ip != "" {
			b.WriteString(ip)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

type outputInstance struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	PublicIP string `json:"publicIP"`
	State    string `json:"state"`
	Ready    bool   `json:"ready"`
}

// renderJSON: an array of the live instances, one per line.
func renderJSON(live []infrav1.TalisInstance) string {
	if len(live) == 0 {
		return "[]\n"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, in := range live {
		line, _ := json.Marshal(outputInstance{ID: in.ID, Name: in.Name, PublicIP: publishableIP(in.PublicIP), State: in.State, Ready: shared.InstanceReady(in)})
		b.WriteString("  ")
		b.Write(line)
		if i < len(live)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.String()
}

// renderInventory writes the Ansible YAML inventory by hand rather than through a YAML library,
// so that every key and string is double-quoted: Ansible's YAML 1.1 parser would read a bare
// 1:2:3:4:5:6:7:8 (a valid IPv6 address) as a base-60 number, and a set named "true" as a bool.
func renderInventory(setName string, live []infrav1.TalisInstance) string {
	var hosts []infrav1.TalisInstance
	for _, in := range live {
		if shared.InstanceReady(in) && publishableIP(in.PublicIP) != "" {
			hosts = append(hosts, in)
		}
	}
	names := hostNames(hosts)
	var b strings.Builder
	b.WriteString("all:\n  children:\n")
	fmt.Fprintf(&b, "    %s:\n", strconv.Quote(ansibleGroup(setName)))
	if len(hosts) == 0 {
		b.WriteString("      hosts: {}\n")
		return b.String()
	}
	b.WriteString("      hosts:\n")
	for i, in := range hosts {
		fmt.Fprintf(&b, "        %s:\n          ansible_host: %s\n          talis_id: %d\n",
			strconv.Quote(names[i]), strconv.Quote(publishableIP(in.PublicIP)), in.ID)
	}
	return b.String()
}

var nonGroupChar = regexp.MustCompile(`[^A-Za-z0-9_]`)

// ansibleGroup is the set's name with every character Ansible does not allow in a group name
// replaced by '_'.
func ansibleGroup(setName string) string {
	return nonGroupChar.ReplaceAllString(setName, "_")
}

var (
	plainHostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	fallbackShape = regexp.MustCompile(`^(?i)talis-[0-9]+$`)
)

// hostNames names each host after its instance, or talis-<id> when the name is empty, repeated
// (hostnames ignore case), not a plain hostname, or shaped like another instance's talis-<id>.
// No two hosts get the same name: fallbacks are unique by ID and no kept name looks like one.
func hostNames(hosts []infrav1.TalisInstance) []string {
	seen := map[string]int{}
	for _, in := range hosts {
		seen[strings.ToLower(in.Name)]++
	}
	out := make([]string, len(hosts))
	for i, in := range hosts {
		fallback := fmt.Sprintf("talis-%d", in.ID)
		name := in.Name
		if name == "" || len(name) > 253 || !plainHostname.MatchString(name) || seen[strings.ToLower(name)] > 1 ||
			(fallbackShape.MatchString(name) && !strings.EqualFold(name, fallback)) {
			name = fallback
		}
		out[i] = name
	}
	return out
}
