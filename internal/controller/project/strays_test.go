package project

import (
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"github.com/talis-operator/talis-operator/internal/creates"
	"github.com/talis-operator/talis-operator/internal/observer"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

func tagged(id uint, identity string, status talis.InstanceStatus) *observer.Instance {
	return &observer.Instance{ID: id, Status: status, Tags: creates.Tags(identity, 1, "tpl", []string{"team:a"})}
}

func TestSetIdentityTakesOnlyTheOperatorsTags(t *testing.T) {
	g := NewWithT(t)
	id := creates.Identity("c", "ns", "web")
	got, ok := setIdentity(creates.Tags(id, 3, "tpl", nil))
	g.Expect(ok).To(BeTrue())
	g.Expect(got).To(Equal(id))

	for name, tags := range map[string][]string{
		"no tio-managed":    {creates.TagSetPrefix + id},
		"two set tags":      {creates.TagManaged, creates.TagSetPrefix + id, creates.TagSetPrefix + creates.Identity("c", "ns", "db")},
		"not an identity":   {creates.TagManaged, creates.TagSetPrefix + "web"},
		"no set tag at all": {creates.TagManaged},
	} {
		_, ok := setIdentity(tags)
		g.Expect(ok).To(BeFalse(), name)
	}
}

func TestCandidatesLeaveProtectedOrphanedAndOlderInstancesAlone(t *testing.T) {
	g := NewWithT(t)
	gone, set, orphan := creates.Identity("c", "ns", "gone"), creates.Identity("c", "ns", "web"), creates.Identity("c", "ns", "kept")
	outside := &observer.Instance{ID: 20, Status: talis.InstanceStatusReady, Tags: []string{creates.TagSetPrefix + gone}}
	v := sweepView{after: 10, protected: map[string]bool{set: true}, orphaned: map[string]bool{orphan: true}}
	got := v.candidates([]*observer.Instance{
		tagged(5, gone, talis.InstanceStatusReady), // at or below sweepAfterID: may be a predecessor's
		tagged(12, set, talis.InstanceStatusReady), // its set exists
		tagged(13, orphan, talis.InstanceStatusReady),
		tagged(15, gone, talis.InstanceStatusPending),
		tagged(14, gone, talis.InstanceStatusReady),
		tagged(16, gone, talis.InstanceStatusTerminated),
		outside,
	})
	g.Expect(got).To(Equal([]candidate{{id: 14, identity: gone, ready: true}, {id: 15, identity: gone}}))
}

func TestIdentitiesOfASetCoverBothFormsAndTheRecordedOne(t *testing.T) {
	g := NewWithT(t)
	s := &infrav1.TalisInstanceSet{}
	s.Namespace, s.Name = "ns", "web"
	g.Expect(identitiesOf("c", s)).To(ConsistOf(creates.Identity("c", "ns", "web"), creates.Identity("", "ns", "web")))
	s.Status.Identity = creates.Identity("old-cluster", "ns", "web")
	g.Expect(identitiesOf("c", s)).To(ContainElement(s.Status.Identity))
}

func TestTrackerWaitsOutTheGraceAndTheCreate(t *testing.T) {
	g := NewWithT(t)
	const grace, retry, settle = 30 * time.Second, time.Minute, 5 * time.Minute
	t0 := time.Now()
	var tr strayTracker
	live := map[int64]bool{1: true, 2: true}
	cands := []candidate{{id: 1, identity: "a", ready: true}, {id: 2, identity: "a"}}

	g.Expect(tr.fold(t0, cands, live, settle)).To(BeTrue())
	g.Expect(tr.due(grace, retry)).To(BeEmpty(), "seen once")
	g.Expect(tr.fold(t0, cands, live, settle)).To(BeFalse(), "the same list again")
	tr.fold(t0.Add(grace/2), cands, live, settle)
	g.Expect(tr.due(grace, retry)).To(BeEmpty(), "within the grace")
	tr.fold(t0.Add(grace), cands, live, settle)
	g.Expect(tr.due(grace, retry)).To(Equal([]int64{1}), "the one not ready waits for its create")
	g.Expect(tr.message(func(string) string { return "web" })).To(SatisfyAll(
		ContainSubstring("2 live instance(s)"), ContainSubstring(`1,2 of TalisInstanceSet "web"`), ContainSubstring("2 not ready yet")))

	g.Expect(tr.sentFor([]int64{1}, t0.Add(grace))).To(Equal(1))
	tr.fold(t0.Add(grace+time.Second), cands, live, settle)
	g.Expect(tr.due(grace, retry)).To(BeEmpty(), "a terminate was just accepted")
	tr.fold(t0.Add(grace+retry+time.Second), cands, live, settle)
	g.Expect(tr.due(grace, retry)).To(Equal([]int64{1}), "still live after the retry interval: again")
	g.Expect(tr.sentFor([]int64{1}, t0.Add(grace+retry+time.Second))).To(BeZero(), "not a first terminate")

	// Past the provisioning bound the one never ready goes too; once gone, it is watched.
	late := t0.Add(strayProvisioning + time.Second)
	tr.fold(late, []candidate{{id: 2, identity: "a"}}, map[int64]bool{2: true}, settle)
	g.Expect(tr.strays).NotTo(HaveKey(int64(1)), "terminated when ready and gone: forgotten")
	g.Expect(tr.due(grace, retry)).To(Equal([]int64{2}))
	tr.sentFor([]int64{2}, late)
	tr.fold(late.Add(time.Second), nil, map[int64]bool{}, settle)
	g.Expect(tr.strays).To(HaveKey(int64(2)), "terminated before ready: its create could bring it back")
	g.Expect(tr.liveIDs()).To(BeEmpty())
	g.Expect(tr.message(func(string) string { return "" })).To(ContainSubstring("watched in case their create brings them back"))
	tr.fold(late.Add(time.Second+retry), []candidate{{id: 2, identity: "a"}}, map[int64]bool{2: true}, settle)
	g.Expect(tr.due(grace, retry)).To(Equal([]int64{2}), "back: terminated again")
	tr.sentFor([]int64{2}, late.Add(time.Second+retry))
	tr.fold(late.Add(retry+settle+2*time.Second), nil, map[int64]bool{}, settle)
	g.Expect(tr.strays).To(BeEmpty(), "settled")
	g.Expect(tr.message(func(string) string { return "" })).To(BeEmpty())
}

func TestTrackerForgetsWhatIsClaimedOrGoneWithoutIt(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Now()
	var tr strayTracker
	tr.fold(t0, []candidate{{id: 1, identity: "a", ready: true}, {id: 2, identity: "b", ready: true}}, map[int64]bool{1: true, 2: true}, time.Minute)
	// 1: a set of its identity exists again (still live, no longer a candidate); 2: terminated
	// by someone else.
	tr.fold(t0.Add(time.Second), nil, map[int64]bool{1: true}, time.Minute)
	g.Expect(tr.strays).To(BeEmpty())
	// Seen again later: the grace starts over.
	tr.fold(t0.Add(2*time.Second), []candidate{{id: 1, identity: "a", ready: true}}, map[int64]bool{1: true}, time.Minute)
	g.Expect(tr.strays[1].firstSeen).To(Equal(t0.Add(2 * time.Second)))
}

func TestDescribeStraysNamesTheSetWhenKnown(t *testing.T) {
	g := NewWithT(t)
	a, b := creates.Identity("", "ns", "web"), creates.Identity("", "ns", "db")
	ids := map[int64]string{3: a, 4: b, 5: a}
	got := describeStrays([]int64{3, 4, 5}, func(id int64) string { return ids[id] }, func(identity string) string {
		if identity == a {
			return "web"
		}
		return ""
	})
	g.Expect(got).To(Equal(`3,5 of TalisInstanceSet "web" (tio-set:` + a + `), which no longer exists; 4 of a set that no longer exists (tio-set:` + b + `)`))
}

func TestPruneOrphanedKeepsWhatStillProtects(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Now()
	running, gone, recent, takenOver := creates.Identity("", "ns", "a"), creates.Identity("", "ns", "b"), creates.Identity("", "ns", "c"), creates.Identity("", "ns", "d")
	old := metav1.NewTime(t0.Add(-2 * shared.OrphanRecordKeep))
	st := &infrav1.TalisProjectStatus{OrphanedSets: []infrav1.OrphanedSet{
		{Identity: running, OrphanedAt: old}, {Identity: gone, OrphanedAt: old},
		{Identity: recent, OrphanedAt: metav1.NewTime(t0)}, {Identity: takenOver, OrphanedAt: metav1.NewTime(t0)},
	}}
	again := infrav1.TalisInstanceSet{Status: infrav1.TalisInstanceSetStatus{Identity: takenOver, LastCreateAttempt: 1}}
	notYet := infrav1.TalisInstanceSet{Status: infrav1.TalisInstanceSetStatus{Identity: recent}}
	pruneOrphaned(st, []*observer.Instance{tagged(7, running, talis.InstanceStatusReady)}, t0, []infrav1.TalisInstanceSet{again, notYet})
	var kept []string
	for _, e := range st.OrphanedSets {
		kept = append(kept, e.Identity)
	}
	g.Expect(kept).To(Equal([]string{running, recent}))
}

func TestRecordOrphanedIsBoundedAndKeepsWhatRunsProtected(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Now()
	mark := int64(42)
	st := &infrav1.TalisProjectStatus{SweepAfterID: &mark}
	g.Expect(shared.RecordOrphaned(st, creates.Identity("", "ns", "web"), "web", t0)).To(BeTrue())
	g.Expect(shared.RecordOrphaned(st, creates.Identity("", "ns", "web"), "web", t0.Add(time.Hour))).To(BeFalse(), "already recorded")
	for i := 1; i < shared.MaxOrphanedSets; i++ {
		name := "s" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
		shared.RecordOrphaned(st, creates.Identity("", "ns", name+strconv.Itoa(i)), name, t0.Add(time.Duration(i)*time.Second))
	}
	g.Expect(st.OrphanedSets).To(HaveLen(shared.MaxOrphanedSets))
	g.Expect(st.SweepAfterID).To(Equal(&mark))

	g.Expect(shared.RecordOrphaned(st, creates.Identity("", "ns", "one-more"), "one-more", t0.Add(time.Hour))).To(BeTrue())
	g.Expect(st.OrphanedSets).To(HaveLen(shared.MaxOrphanedSets))
	g.Expect(st.OrphanedSets).NotTo(ContainElement(HaveField("Name", "web")), "the oldest made room")
	g.Expect(st.SweepAfterID).To(BeNil(), "the sweep starts again above everything running now")
}

func TestClaimsFindASharedTalisProject(t *testing.T) {
	g := NewWithT(t)
	conns := talisconn.NewRegistry(talisconn.Defaults{URL: "http://talis.example/talis"}, nil)
	project := func(ns, name string, id int64, talisName string) infrav1.TalisProject {
		p := infrav1.TalisProject{Status: infrav1.TalisProjectStatus{ProjectID: id, ProjectName: talisName, Endpoint: "http://TALIS.example/talis/"}}
		p.Namespace, p.Name = ns, name
		return p
	}
	mine, other, elsewhere := project("a", "p", 7, "a.p"), project("b", "q", 8, "b.q"), project("c", "r", 9, "c.r")
	elsewhere.Status.Endpoint = "http://other.example"
	c := countClaims(conns, []infrav1.TalisProject{mine, other, elsewhere, project("d", "new", 0, "")})
	g.Expect(c.sole(conns, &mine)).To(BeTrue())

	thief := project("b", "steal", 7, "b.steal") // a status naming another tenant's Talis project
	c = countClaims(conns, []infrav1.TalisProject{mine, other, thief})
	g.Expect(c.sole(conns, &mine)).To(BeFalse())
	g.Expect(c.sole(conns, &thief)).To(BeFalse())
	byName := project("b", "byname", 70, "a.p")
	g.Expect(countClaims(conns, []infrav1.TalisProject{mine, byName}).sole(conns, &mine)).To(BeFalse())
}
