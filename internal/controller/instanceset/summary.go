package instanceset

import (
	"fmt"
	"strings"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// summaryIPs is how many IPs the -o wide column shows; the full list stays in status.
const summaryIPs = 3

// ipSummary is "a, b, c +N more": at most summaryIPs IPs of at most 45 characters each, so it
// always fits status.publicIPSummary's 256 characters.
func ipSummary(ips []string) string {
	if len(ips) <= summaryIPs {
		return strings.Join(ips, ", ")
	}
	return fmt.Sprintf("%s +%d more", strings.Join(ips[:summaryIPs], ", "), len(ips)-summaryIPs)
}

// setSelector is the scale subresource's selector.
func setSelector(name string) string {
	return infrav1.InstanceSetLabel + "=" + shared.SetLabelValue(name)
}
