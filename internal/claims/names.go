package claims

import "regexp"

// defaultShape matches default Talis project names with a cluster part,
// "<namespace>.<name>.<cluster>" (internal/controller/project/names.go); group 1 is the namespace.
var defaultShape = regexp.MustCompile(`^([a-z0-9-]{1,63})\..+\.[0-9a-f]{10}$`)

// DefaultNamespaceOf reports whether name has the shape of a default Talis project name, and of
// which namespace. Such a name belongs to that namespace: spec.projectName may not name it from
// another (ProjectNameForbidden), and no TalisProject of another namespace adopts a project that
// has it.
func DefaultNamespaceOf(name string) (namespace string, ok bool) {
	m := defaultShape.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1], true
}
