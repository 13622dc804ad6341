package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/test/harness"
)

// observation is one condition or event a user could have read.
type observation struct {
	at             time.Time
	source, reason string
	message        string
}

// watcher samples the Ready and Degraded conditions of every Talis object in a namespace, as
// `kubectl get -w` would, so that the test can tell what users were told while a fault lasted.
type watcher struct {
	ns   string
	mu   sync.Mutex
	seen []observation
	stop chan struct{}
	done chan struct{}
}

func watch(ns string) *watcher {
	w := &watcher{ns: ns, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			w.sample()
		}
	}()
	return w
}

func (w *watcher) sample() {
	now := time.Now()
	var obs []observation
	add := func(kind, name string, conds []metav1.Condition) {
		// Synced carries a failed attempt; Ready keeps a fleet that was ready.
		for _, typ := range []string{infrav1.ConditionReady, infrav1.ConditionSynced, infrav1.ConditionDegraded} {
			if c := meta.FindStatusCondition(conds, typ); c != nil &&
				c.Reason != infrav1.ReasonReady && c.Reason != infrav1.ReasonAsExpected && c.Reason != infrav1.ReasonReconcileSuccess {
				obs = append(obs, observation{at: now, source: kind + "/" + name + " " + typ, reason: c.Reason, message: c.Message})
			}
		}
	}
	var sets infrav1.TalisInstanceSetList
	if cp.Client.List(ctx, &sets, client.InNamespace(w.ns)) == nil {
		for _, s := range sets.Items {
			add("TalisInstanceSet", s.Name, s.Status.Conditions)
		}
	}
	var projects infrav1.TalisProjectList
	if cp.Client.List(ctx, &projects, client.InNamespace(w.ns)) == nil {
		for _, p := range projects.Items {
			add("TalisProject", p.Name, p.Status.Conditions)
		}
	}
	w.mu.Lock()
	w.seen = append(w.seen, obs...)
	w.mu.Unlock()
}

func (w *watcher) halt() {
	close(w.stop)
	<-w.done
}

// since returns the conditions sampled and the events recorded from t on.
func (w *watcher) since(t time.Time) []observation {
	w.mu.Lock()
	var out []observation
	for _, o := range w.seen {
		if !o.at.Before(t) {
			out = append(out, o)
		}
	}
	w.mu.Unlock()
	evs, _ := harness.Events(ctx, cp.Client, w.ns)
	for _, e := range evs {
		if !e.Time.Before(t.Truncate(time.Second)) {
			out = append(out, observation{at: e.Time, source: "event " + e.Object + " " + e.Type, reason: e.Reason, message: e.Note})
		}
	}
	return out
}

func summarize(obs []observation) string {
	count := map[string]int{}
	example := map[string]string{}
	for _, o := range obs {
		count[o.reason]++
		if _, ok := example[o.reason]; !ok {
			example[o.reason] = o.source + ": " + o.message
		}
	}
	var b strings.Builder
	for _, r := range slices.Sorted(maps.Keys(count)) {
		fmt.Fprintf(&b, "\n    %-30s x%-4d e.g. %.220s", r, count[r], example[r])
	}
	return b.String()
}

// told reports whether some condition or event had one of the reasons and a message containing
// one of the words.
func told(obs []observation, reasons []string, words ...string) bool {
	for _, o := range obs {
		if !slices.Contains(reasons, o.reason) {
			continue
		}
		if len(words) == 0 {
			return true
		}
		for _, w := range words {
			if strings.Contains(o.message, w) {
				return true
			}
		}
	}
	return false
}
