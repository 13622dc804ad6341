package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// Every instance carries these tags, so that Talis itself can always tell which set and which
// create call an instance belongs to: after a crash, a timeout or an Orphan deletion, the operator
// finds its instances by tag instead of creating again. DigitalOcean tags allow letters, digits,
// ':', '-' and '_' only, hence hashes instead of raw names.
const (
	tagManaged     = "tio-managed"
	tagSetPrefix   = "tio-set:"
	tagTryPrefix   = "tio-try:"
	tagTemplPrefix = "tio-tpl:"
)

// setIdentity is stable across re-creation of a set with the same namespace and name (not its
// UID), which is what lets a re-created set adopt instances orphaned by its predecessor. The
// cluster ID keeps two clusters' sets of the same name apart; "" gives the legacy identity.
func setIdentity(cluster, namespace, name string) string {
	key := namespace + "/" + name
	if cluster != "" {
		key = cluster + "/" + key // namespace and name hold no "/": no two triples meet
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:10])
}

// identityOf is the set's recorded identity, recording it on first use: a set that has already
// created instances without one keeps the legacy identity they carry.
func identityOf(s *infrav1.TalisInstanceSet, cluster string) string {
	st := &s.Status
	if st.Identity == "" {
		if st.LastCreateAttempt > 0 || len(st.Instances) > 0 || st.PendingCreate != nil {
			cluster = ""
		}
		st.Identity = setIdentity(cluster, s.Namespace, s.Name)
	}
	return st.Identity
}

// templateHash identifies an instance template; instances with another hash are outdated.
func templateHash(t infrav1.InstanceTemplate) string {
	raw, _ := json.Marshal(t) // a struct of plain fields always marshals
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:5])
}

// instanceTags is the full tag list of an instance created by attempt for the set.
func instanceTags(identity string, attempt int64, tmplHash string, userTags []string) []string {
	tags := make([]string, 0, len(userTags)+4)
	tags = append(tags, tagManaged, tagSetPrefix+identity, tagTryPrefix+strconv.FormatInt(attempt, 10), tagTemplPrefix+tmplHash)
	return append(tags, userTags...)
}

// ownership is what an instance's tags say about it.
type ownership struct {
	identity     string
	attempt      int64
	templateHash string
}

func parseOwnership(tags []string) (ownership, bool) {
	var o ownership
	for _, t := range tags {
		switch {
		case strings.HasPrefix(t, tagSetPrefix):
			o.identity = strings.TrimPrefix(t, tagSetPrefix)
		case strings.HasPrefix(t, tagTryPrefix):
			o.attempt, _ = strconv.ParseInt(strings.TrimPrefix(t, tagTryPrefix), 10, 64)
		case strings.HasPrefix(t, tagTemplPrefix):
			o.templateHash = strings.TrimPrefix(t, tagTemplPrefix)
		}
	}
	return o, o.identity != ""
}
