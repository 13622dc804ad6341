package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// printed_test.go, kstatus_test.go and events_test.go read what a user reads: the rows
// `kubectl get` prints (the API server's Table), `kubectl wait`'s rule, kstatus, and
// events.k8s.io Events. A condition being right is not enough if the column hides it.

// userView is one namespace with a manager and an emulator, seen the way a user sees it.
type userView struct {
	t  *testing.T
	ns string
}

func newUserView(t *testing.T, prefix string, url string, extraArgs []string, env ...string) userView {
	t.Helper()
	ns, err := cp.NewNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, managerArgs(url, append([]string{"--watch-namespaces", ns}, extraArgs...)...), env...)
	return userView{t: t, ns: ns}
}

func (u userView) create(objs ...client.Object) {
	u.t.Helper()
	for _, o := range objs {
		if err := cp.Client.Create(ctx, o); err != nil {
			u.t.Fatal(err)
		}
	}
}

// row is what `kubectl get <resource> <name> -o wide` prints, by column header as printed.
func (u userView) row(resource, name string) (map[string]string, error) {
	row, err := harness.PrintedRow(ctx, cp.Config, resource, u.ns, name)
	printed := make(map[string]string, len(row))
	for col, v := range row {
		printed[strings.ToUpper(col)] = v
	}
	return printed, err
}

// eventuallyPrinted waits until the printed row has these columns.
func (u userView) eventuallyPrinted(resource, name string, want map[string]string) {
	u.t.Helper()
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("kubectl get %s %s prints %v", resource, name, want), func() error {
		row, err := u.row(resource, name)
		if err != nil {
			return err
		}
		for col, v := range want {
			if row[col] != v {
				return fmt.Errorf("%s is %q, want %q (row %v)", col, row[col], v, row)
			}
		}
		return nil
	})
}

// eventuallyEvent waits for an event about kind/name whose reason is reason and whose note has
// every one of notes.
func (u userView) eventuallyEvent(object, typ, reason string, notes ...string) harness.Event {
	u.t.Helper()
	var found harness.Event
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("a %s event %s about %s", typ, reason, object), func() error {
		evs, err := harness.Events(ctx, cp.Client, u.ns)
		if err != nil {
			return err
		}
	next:
		for _, e := range evs {
			if e.Object != object || e.Type != typ || e.Reason != reason {
				continue
			}
			for _, n := range notes {
				if !strings.Contains(e.Note, n) {
					continue next
				}
			}
			found = e
			return nil
		}
		return fmt.Errorf("events:\n%s", harness.JoinEvents(evs))
	})
	return found
}

func (u userView) set(name string) *infrav1.TalisInstanceSet {
	u.t.Helper()
	var s infrav1.TalisInstanceSet
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: name}, &s); err != nil {
		u.t.Fatal(err)
	}
	return &s
}

func (u userView) setReady(name string, n int) {
	u.t.Helper()
	key := harness.SetKey{Namespace: u.ns, Name: name}
	harness.Eventually(u.t, 60*time.Second, fmt.Sprintf("%s ready with %d", key, n), func() error { return harness.SetReady(ctx, cp.Client, key, n) })
}

func (u userView) patchSet(name string, f func(*infrav1.TalisInstanceSet)) {
	u.t.Helper()
	if err := harness.Patch(ctx, cp.Client, u.set(name), f); err != nil {
		u.t.Fatal(err)
	}
}
