package shared

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestDescribeIDsListsAFewAndCountsTheRest(t *testing.T) {
	g := NewWithT(t)
	ids := func(n int, first int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = first + int64(i)
		}
		return out
	}
	g.Expect(DescribeIDs(nil)).To(BeEmpty())
	g.Expect(DescribeIDs(ids(3, 1))).To(Equal("1,2,3"))
	g.Expect(DescribeIDs(ids(10, 1))).To(Equal("1,2,3,4,5,6,7,8,9,10"))
	g.Expect(DescribeIDs(ids(500, 1))).To(Equal("1,2,3,4,5,6,7,8,9,10,… and 490 more"))

	// The longest note any caller makes stays under the 1 KB events.k8s.io accepts.
	big := ids(infrav1.MaxStatusInstances, 1<<63-infrav1.MaxStatusInstances)
	note := fmt.Sprintf("Created %d instance(s) in Talis (attempt %d): %s", len(big), int64(1<<63-1), DescribeIDs(big))
	g.Expect(len(note)).To(BeNumerically("<", 1024), note)
	g.Expect(note).To(HaveSuffix(fmt.Sprintf("… and %d more", infrav1.MaxStatusInstances-MaxListedIDs)))
}

func TestClipKeepsWholeRunes(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Clip("short", 64)).To(Equal("short"))
	g.Expect(Clip(strings.Repeat("a", 70), 64)).To(HaveLen(64))
	// "é" is two bytes: a cut through it drops the whole rune.
	g.Expect(Clip(strings.Repeat("é", 40), 63)).To(Equal(strings.Repeat("é", 31)))
}

func TestConditionMessagesAreClippedToTheCRDBound(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	SetCondition(&conds, 1, infrav1.ConditionReady, false, "X", strings.Repeat("m", 3*infrav1.MaxConditionMessage))
	g.Expect(conds[0].Message).To(HaveLen(infrav1.MaxConditionMessage))
}
