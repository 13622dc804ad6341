package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
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
	return infrav1.InstanceSetLabel + "=" + setLabelValue(name)
}

// setLabelValue is a set's name as a label value. A set's name may be longer than a label
// value; such names are hashed, so selectors on it always parse.
func setLabelValue(name string) string {
	if len(validation.IsValidLabelValue(name)) > 0 {
		sum := sha256.Sum256([]byte(name))
		return "h" + hex.EncodeToString(sum[:20])
	}
	return name
}
