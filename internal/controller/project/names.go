package project

import (
	"crypto/sha256"
	"encoding/hex"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/claims"
)

// maxProjectName keeps default names within what spec.projectName accepts, so a default name
// can always be written back as an explicit one (e.g. to adopt after an Orphan deletion).
const maxProjectName = 128

// defaultProjectName is "<namespace>.<name>.<cluster>". Talis names are global and sticky, so
// two objects must never derive the same one: a namespace has no dot and the cluster part is
// hex, so the namespace is everything before the first dot and the cluster everything after
// the last, and no two (cluster, namespace, name) share a name. Names too long for Talis keep
// the namespace and end in a hash of the full name instead. An empty cluster ID (tests) leaves
// the cluster part out.
func defaultProjectName(clusterID, namespace, name string) string {
	full := namespace + "." + name
	suffix := ""
	if clusterID != "" {
		suffix = "." + shortHash(clusterID, 5)
	}
	if len(full)+len(suffix) > maxProjectName {
		h := "-" + shortHash(clusterID+"/"+namespace+"/"+name, 8)
		full = full[:maxProjectName-len(suffix)-len(h)] + h
	}
	return full + suffix
}

// squatsDefault reports whether an explicit spec.projectName has the shape of another
// namespace's default name: taking it first would deny that namespace its project.
func squatsDefault(p *infrav1.TalisProject) bool {
	ns, ok := claims.DefaultNamespaceOf(p.Spec.ProjectName)
	return ok && ns != p.Namespace
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:n])
}
