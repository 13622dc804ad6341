package observer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// sharedTalis lists, besides one instance in each of projects 7 and 8, many live instances of
// other owners' projects: a Talis the operator shares.
type sharedTalis struct{ foreign int }

func (s sharedTalis) ScanInstances(_ context.Context, _ *talis.ListOptions, fn func(*talis.Instance) error) error {
	for i := range s.foreign {
		if err := fn(&talis.Instance{ID: uint(1000 + i), ProjectID: uint(100 + i%50), Status: talis.InstanceStatusReady}); err != nil {
			return err
		}
	}
	for _, in := range []*talis.Instance{{ID: 1, ProjectID: 7, Status: talis.InstanceStatusReady}, {ID: 2, ProjectID: 8, Status: talis.InstanceStatusReady}} {
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// waitProject is GetProject as a reconcile uses it: ErrPending, then the snapshot once woken.
func waitProject(t *testing.T, o *Observer, api Lister, project Project, notBefore time.Time) *Snapshot {
	t.Helper()
	woken := make(chan struct{})
	snap, err := o.GetProject("ep", api, project, notBefore, project.ID, func() { close(woken) })
	if err == nil {
		return snap
	}
	if !errors.Is(err, ErrPending) {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("not woken")
	}
	snap, err = o.GetProject("ep", api, project, notBefore, project.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestOtherPeoplesInstancesAreNotKeptNorCounted(t *testing.T) {
	o := New(0, WithMaxRows(10))
	snap := waitProject(t, o, sharedTalis{foreign: 5000}, Project{ID: 7}, time.Time{})
	if got := snap.Project(7); len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("project 7 = %v, want instance 1", got)
	}
	if snap.rows != 1 || len(snap.byProject) != 1 {
		t.Errorf("kept %d rows of %d projects; want only project 7's one row", snap.rows, len(snap.byProject))
	}
	if snap.Covers(8) || !snap.Covers(7) {
		t.Errorf("covers 7: %v, 8: %v", snap.Covers(7), snap.Covers(8))
	}
}

// A project first asked for is never answered with a list that did not keep its rows: its
// instances would look terminated.
func TestAProjectAskedForLaterWaitsForAListThatKeepsIt(t *testing.T) {
	o := New(0)
	api := sharedTalis{}
	first := waitProject(t, o, api, Project{ID: 7}, time.Time{})
	if _, err := o.GetProject("ep", api, Project{ID: 8}, time.Time{}, "other", func() {}); !errors.Is(err, ErrPending) {
		t.Fatalf("project 8 from a list that kept only project 7: err %v", err)
	}
	second := waitProject(t, o, api, Project{ID: 8}, time.Time{})
	if !second.StartedAt.After(first.StartedAt) && second == first {
		t.Fatal("the same list answered both")
	}
	if got := second.Project(8); len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("project 8 = %v, want instance 2", got)
	}
	if got := second.Project(7); len(got) != 1 {
		t.Errorf("the newer list dropped project 7: %v", got)
	}
	// A caller looking across projects takes what there is.
	if snap, err := o.Get("ep", api, time.Time{}, "tick", nil); err != nil || snap != second {
		t.Errorf("Get = %v, %v; want the latest list", snap, err)
	}
}
