package controller

import (
	"encoding/json"
	"os"
	"testing"
	"unsafe"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func readySet(t *testing.T) *infrav1.TalisInstanceSet {
	data, err := os.ReadFile("testdata/ready-set.json")
	if err != nil {
		t.Fatal(err)
	}
	set := &infrav1.TalisInstanceSet{}
	if err := json.Unmarshal(data, set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestTheCachedSetReadsAsDecodedWithoutManagedFields(t *testing.T) {
	g := NewWithT(t)
	want := readySet(t)
	g.Expect(want.ManagedFields).NotTo(BeEmpty())
	want.ManagedFields = nil
	n := newInterner()

	got, err := n.compactCachedSet(readySet(t))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(equality.Semantic.DeepEqual(got, want)).To(BeTrue(), "compaction changed what readers see")
	// Readers get deep copies: one of them must not reach into another's memory.
	cp := got.(*infrav1.TalisInstanceSet).DeepCopy()
	cp.Status.Instances[0].CreatedAt.Time = cp.Status.Instances[0].CreatedAt.Add(1)
	g.Expect(got.(*infrav1.TalisInstanceSet).Status.Instances[1].CreatedAt.Equal(want.Status.Instances[1].CreatedAt)).To(BeTrue())
}

func TestCachedSetsShareWhatTheyHaveInCommon(t *testing.T) {
	g := NewWithT(t)
	n := newInterner()
	a, _ := n.compactCachedSet(readySet(t))
	b, _ := n.compactCachedSet(readySet(t))
	ca, cb := a.(*infrav1.TalisInstanceSet).Status.Conditions, b.(*infrav1.TalisInstanceSet).Status.Conditions
	g.Expect(cap(ca)).To(Equal(len(ca)))
	g.Expect(unsafe.StringData(ca[1].Reason)).To(Equal(unsafe.StringData(cb[1].Reason)))
	ia := a.(*infrav1.TalisInstanceSet).Status.Instances
	g.Expect(ia[0].CreatedAt).To(BeIdenticalTo(ia[1].CreatedAt), "one create's timestamp, kept once")
}

func TestTheInternerIsBounded(t *testing.T) {
	g := NewWithT(t)
	n := newInterner()
	for i := range internMaxValues + 100 {
		n.intern(string(rune('a'+i%26)) + string(rune(i)))
	}
	g.Expect(n.values).To(HaveLen(internMaxValues))
	long := string(make([]byte, internMaxLen+1))
	n.intern(long)
	g.Expect(n.values).NotTo(HaveKey(long))
}
