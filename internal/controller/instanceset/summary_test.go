package instanceset

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestIPSummaryIsShortAtAnySize(t *testing.T) {
	long := strings.Repeat("f", 45) // the longest IP status.publicIPs holds
	for n, want := range map[int]string{0: "", 1: "a0", 3: "a0, a1, a2", 4: "a0, a1, a2 +1 more", 1600: "a0, a1, a2 +1597 more"} {
		ips := make([]string, n)
		for i := range ips {
			ips[i] = fmt.Sprintf("a%d", i)
		}
		if got := ipSummary(ips); got != want {
			t.Errorf("%d IPs: got %q, want %q", n, got, want)
		}
		for i := range ips {
			ips[i] = long
		}
		if got := ipSummary(ips); len(got) > 256 {
			t.Errorf("%d IPs of 45 characters: summary of %d characters exceeds publicIPSummary's 256", n, len(got))
		}
	}
}

func TestSetSelectorAlwaysParses(t *testing.T) {
	for _, name := range []string{"web", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.b-", 63) + "c"} {
		sel := setSelector(name)
		if _, err := labels.Parse(sel); err != nil {
			t.Errorf("name of %d characters: selector %q does not parse: %v", len(name), sel, err)
		}
		if len(sel) > 128 {
			t.Errorf("selector %q is longer than status.selector's 128", sel)
		}
	}
	if a, b := setSelector(strings.Repeat("a", 64)), setSelector(strings.Repeat("a", 65)); a == b {
		t.Errorf("two long names share the selector %q", a)
	}
}
