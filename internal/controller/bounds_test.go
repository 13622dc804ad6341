package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
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
	g.Expect(describeIDs(nil)).To(BeEmpty())
	g.Expect(describeIDs(ids(3, 1))).To(Equal("1,2,3"))
	g.Expect(describeIDs(ids(10, 1))).To(Equal("1,2,3,4,5,6,7,8,9,10"))
	g.Expect(describeIDs(ids(500, 1))).To(Equal("1,2,3,4,5,6,7,8,9,10,… and 490 more"))

	// The longest note any caller makes stays under the 1 KB events.k8s.io accepts.
	big := ids(infrav1.MaxStatusInstances, 1<<63-infrav1.MaxStatusInstances)
	note := fmt.Sprintf("Created %d instance(s) in Talis (attempt %d): %s", len(big), int64(1<<63-1), describeIDs(big))
	g.Expect(len(note)).To(BeNumerically("<", 1024), note)
	g.Expect(note).To(HaveSuffix(fmt.Sprintf("… and %d more", infrav1.MaxStatusInstances-maxListedIDs)))
}

func TestClipKeepsWholeRunes(t *testing.T) {
	g := NewWithT(t)
	g.Expect(clip("short", 64)).To(Equal("short"))
	g.Expect(clip(strings.Repeat("a", 70), 64)).To(HaveLen(64))
	// "é" is two bytes: a cut through it drops the whole rune.
	g.Expect(clip(strings.Repeat("é", 40), 63)).To(Equal(strings.Repeat("é", 31)))
}

func TestConditionMessagesAreClippedToTheCRDBound(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	setCondition(&conds, 1, infrav1.ConditionReady, false, "X", strings.Repeat("m", 3*infrav1.MaxConditionMessage))
	g.Expect(conds[0].Message).To(HaveLen(infrav1.MaxConditionMessage))
}

func TestObservedStringsAreClippedToTheCRDBounds(t *testing.T) {
	g := NewWithT(t)
	var in infrav1.TalisInstance
	observeInto(&in, &talis.Instance{ID: 1, Name: strings.Repeat("n", 300), Status: talis.InstanceStatus(strings.Repeat("s", 30)),
		PublicIP: strings.Repeat("1", 60)}, t0)
	g.Expect(in.Name).To(HaveLen(64))
	g.Expect(in.State).To(HaveLen(16))
	g.Expect(in.PublicIP).To(HaveLen(45))
}

// Entries being terminated stay in status; creates wait for them rather than take status past
// MaxPlannedInstances.
func TestPlanCreatesNoMoreThanStatusHolds(t *testing.T) {
	g := NewWithT(t)
	var insts []infrav1.TalisInstance
	for i := range 1000 {
		insts = append(insts, inst(int64(i+1), "ready", "old", time.Hour))
	}
	terminating := func(n int) []infrav1.TalisInstance {
		out := append([]infrav1.TalisInstance(nil), insts...)
		for i := range n {
			in := inst(int64(5000+i), "ready", "old", time.Hour)
			in.TerminatingSince = &metav1.Time{Time: t0.Add(-time.Second)}
			in.TerminateRequestedAt = &metav1.Time{Time: t0.Add(-time.Second)}
			out = append(out, in)
		}
		return out
	}
	ps := rolling(1000, 500, 0)
	g.Expect(computePlan(ps, terminating(0), false, t0, time.Minute).create).To(Equal(500), "the surge")
	g.Expect(computePlan(ps, terminating(300), false, t0, time.Minute).create).To(Equal(200))
	g.Expect(computePlan(ps, terminating(600), false, t0, time.Minute).create).To(BeZero())
}
