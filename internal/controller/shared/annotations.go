package shared

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// ReasonInvalidAnnotation is the reason of the Warning event about an annotation value the
// operator cannot use.
const ReasonInvalidAnnotation = "InvalidAnnotation"

// Pause reads the paused annotation. Only "true" and "false" are understood; any other value
// pauses too, since whoever wrote it most likely meant to stop (a "yes" that silently let the
// set create instances did harm), and misread says what was not understood.
func Pause(o metav1.Object) (paused bool, misread string) {
	v, ok := o.GetAnnotations()[infrav1.PausedAnnotation]
	switch {
	case !ok || v == "false":
		return false, ""
	case v == "true":
		return true, ""
	}
	return true, fmt.Sprintf("annotation %s is %q: only \"true\" and \"false\" are understood, so it is treated as \"true\" until it is corrected",
		infrav1.PausedAnnotation, v)
}

// DeleteInstances reads the delete-instances annotation: the IDs it names that the set owns,
// and why each other entry was ignored.
func DeleteInstances(v string, owned func(id int64) bool) (ids map[int64]bool, ignored []string) {
	ids = map[int64]bool{}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		switch {
		case err != nil || id <= 0:
			ignored = append(ignored, fmt.Sprintf("%q is not a Talis instance ID", f))
		case !owned(id):
			ignored = append(ignored, fmt.Sprintf("%d is not an instance of this set (or no longer)", id))
		default:
			ids[id] = true
		}
	}
	return ids, ignored
}

// DeleteInstancesMisread says which entries of the delete-instances annotation were ignored.
func DeleteInstancesMisread(ignored []string) string {
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("annotation %s: ignored %s", infrav1.DeleteInstancesAnnotation, strings.Join(ignored, ", "))
}
