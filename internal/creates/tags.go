package creates

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Every instance carries these tags, so that Talis itself can always tell which set and which
// create call an instance belongs to: after a crash, a timeout or an Orphan deletion, the operator
// finds its instances by tag instead of creating again. DigitalOcean tags allow letters, digits,
// ':', '-' and '_' only, hence hashes instead of raw names.
const (
	TagManaged     = "tio-managed"
	TagSetPrefix   = "tio-set:"
	TagTryPrefix   = "tio-try:"
	TagTemplPrefix = "tio-tpl:"
)

// Identity is stable across re-creation of a set with the same namespace and name (not its
// UID), which is what lets a re-created set adopt instances orphaned by its predecessor. The
// cluster ID keeps two clusters' sets of the same name apart; "" gives the legacy identity.
func Identity(cluster, namespace, name string) string {
	key := namespace + "/" + name
	if cluster != "" {
		key = cluster + "/" + key // namespace and name hold no "/": no two triples meet
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:10])
}

// Tags is the full tag list of an instance created by attempt for the set.
func Tags(identity string, attempt int64, tmplHash string, userTags []string) []string {
	tags := make([]string, 0, len(userTags)+4)
	tags = append(tags, TagManaged, TagSetPrefix+identity, TagTryPrefix+strconv.FormatInt(attempt, 10), TagTemplPrefix+tmplHash)
	return append(tags, userTags...)
}

// Ownership is what an instance's tags say about it.
type Ownership struct {
	Identity     string
	Attempt      int64
	TemplateHash string
}

// ParseOwnership reads the operator's tags; ok is false for an instance no set created. A
// malformed attempt reads as 0, which no create call uses.
func ParseOwnership(tags []string) (o Ownership, ok bool) {
	for _, t := range tags {
		switch {
		case strings.HasPrefix(t, TagSetPrefix):
			o.Identity = strings.TrimPrefix(t, TagSetPrefix)
		case strings.HasPrefix(t, TagTryPrefix):
			o.Attempt, _ = strconv.ParseInt(strings.TrimPrefix(t, TagTryPrefix), 10, 64)
		case strings.HasPrefix(t, TagTemplPrefix):
			o.TemplateHash = strings.TrimPrefix(t, TagTemplPrefix)
		}
	}
	return o, o.Identity != ""
}
