package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// The operator's ownership tags (internal/creates/tags.go), written out again on purpose: the
// suites read the emulator's ledger with their own copy of the tag scheme, so a change to the
// operator's tags that breaks identities fails the suites instead of silently moving both sides.
// Do not import the operator's version here; hack/bench reads its sets' tags through this copy too
// (IdentityOfTag).
const (
	tagSet = "tio-set:"
	tagTry = "tio-try:"
)

// ClusterID is the --cluster-id ManagerArgs gives the manager.
const ClusterID = "reliability"

// SetIdentity is the tio-set tag value of namespace/name for a manager run with ManagerArgs.
func SetIdentity(namespace, name string) string { return SetIdentityIn(ClusterID, namespace, name) }

// SetIdentityIn is the tio-set tag value of namespace/name in the given cluster.
func SetIdentityIn(cluster, namespace, name string) string {
	sum := sha256.Sum256([]byte(cluster + "/" + namespace + "/" + name))
	return hex.EncodeToString(sum[:10])
}

// ProjectName is the default Talis project name of TalisProject namespace/name for a manager run
// with ManagerArgs: "<namespace>.<name>.<first 5 bytes of sha256(cluster ID), hex>".
func ProjectName(namespace, name string) string {
	sum := sha256.Sum256([]byte(ClusterID))
	return namespace + "." + name + "." + hex.EncodeToString(sum[:5])
}

// SetKey names a set by namespace/name.
type SetKey struct{ Namespace, Name string }

func (k SetKey) String() string { return k.Namespace + "/" + k.Name }

// Identity is the set's tio-set tag value.
func (k SetKey) Identity() string { return SetIdentity(k.Namespace, k.Name) }

func ownership(tags []string) (identity string, attempt int64) {
	for _, t := range tags {
		switch {
		case strings.HasPrefix(t, tagSet):
			identity = strings.TrimPrefix(t, tagSet)
		case strings.HasPrefix(t, tagTry):
			attempt, _ = strconv.ParseInt(strings.TrimPrefix(t, tagTry), 10, 64)
		}
	}
	return identity, attempt
}

// SetLedger is what the emulator's ledger holds for one set.
type SetLedger struct {
	All, Live []emulator.LedgerEntry
	// ByAttempt groups every instance ever created by create attempt.
	ByAttempt map[int64][]emulator.LedgerEntry
}

// LedgerByIdentity groups the ledger by tio-set identity; untagged instances go under "".
func LedgerByIdentity(entries []emulator.LedgerEntry) map[string]*SetLedger {
	out := map[string]*SetLedger{}
	for _, e := range entries {
		id, attempt := ownership(e.Tags)
		sl := out[id]
		if sl == nil {
			sl = &SetLedger{ByAttempt: map[int64][]emulator.LedgerEntry{}}
			out[id] = sl
		}
		sl.All = append(sl.All, e)
		if e.Status != "terminated" {
			sl.Live = append(sl.Live, e)
		}
		sl.ByAttempt[attempt] = append(sl.ByAttempt[attempt], e)
	}
	return out
}

// LiveIDs returns the ids of the live instances of a set.
func (sl *SetLedger) LiveIDs() []int64 {
	if sl == nil {
		return nil
	}
	var out []int64
	for _, e := range sl.Live {
		out = append(out, int64(e.ID))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// CreateAudit is the comparison of create calls seen on the wire with the instances in the ledger.
type CreateAudit struct {
	// Calls is the number of create calls per identity and attempt.
	Calls map[string]map[int64]int
	// Requested is the instance count each (identity, attempt) asked for.
	Requested map[string]map[int64]int
	// Duplicates lists every attempt sent more than once, or with more instances in the ledger
	// than it asked for: each is an instance created twice.
	Duplicates []string
	// Unexplained lists ledger groups with no create call on record.
	Unexplained []string
	TotalCalls  int
}

// AuditCreates checks that each create attempt of each set was sent at most once and created at
// most the instances it asked for. Only calls recorded by the proxy are known: ledger entries of
// identities listed in ids are checked against them.
func AuditCreates(recs []Record, ledger []emulator.LedgerEntry, ids map[string]SetKey) CreateAudit {
	a := CreateAudit{Calls: map[string]map[int64]int{}, Requested: map[string]map[int64]int{}}
	for _, r := range recs {
		for _, c := range r.Create {
			id, attempt := ownership(c.Tags)
			if a.Calls[id] == nil {
				a.Calls[id], a.Requested[id] = map[int64]int{}, map[int64]int{}
			}
			a.Calls[id][attempt]++
			a.Requested[id][attempt] = c.Count
			a.TotalCalls++
		}
	}
	for id, byAttempt := range a.Calls {
		for attempt, n := range byAttempt {
			if n > 1 {
				a.Duplicates = append(a.Duplicates, fmt.Sprintf("%s attempt %d sent %d times", ids[id], attempt, n))
			}
		}
	}
	for id, sl := range LedgerByIdentity(ledger) {
		key, ok := ids[id]
		if !ok {
			continue
		}
		for attempt, group := range sl.ByAttempt {
			want, called := a.Requested[id][attempt]
			switch {
			case !called:
				a.Unexplained = append(a.Unexplained, fmt.Sprintf("%s attempt %d: %d instance(s) without a recorded create call", key, attempt, len(group)))
			case len(group) > want:
				a.Duplicates = append(a.Duplicates, fmt.Sprintf("%s attempt %d: %d instances for a call that asked for %d", key, attempt, len(group), want))
			}
		}
	}
	sort.Strings(a.Duplicates)
	sort.Strings(a.Unexplained)
	return a
}

// IdentityOfTag is the set identity a tio-set tag carries.
func IdentityOfTag(tag string) (string, bool) { return strings.CutPrefix(tag, tagSet) }
