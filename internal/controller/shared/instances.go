package shared

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"

	"k8s.io/apimachinery/pkg/util/validation"
)

// describeIDs lists IDs for an event or condition message: events.k8s.io refuses notes over
// 1 KB, so past maxListedIDs only a count is given.
func DescribeIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == MaxListedIDs {
			fmt.Fprintf(&b, ",… and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// maxListedIDs keeps a list under 250 bytes even with 20-digit IDs.
const MaxListedIDs = 10

// InstanceReady: Talis reports the instance ready.
func InstanceReady(in infrav1.TalisInstance) bool {
	return in.State == string(talis.InstanceStatusReady)
}

// setLabelValue is a set's name as a label value. A set's name may be longer than a label
// value; such names are hashed, so selectors on it always parse.
func SetLabelValue(name string) string {
	if len(validation.IsValidLabelValue(name)) > 0 {
		sum := sha256.Sum256([]byte(name))
		return "h" + hex.EncodeToString(sum[:20])
	}
	return name
}
