package shared

import (
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

const PausedMessage = "paused by the " + infrav1.PausedAnnotation + "=\"true\" annotation: no Talis calls are made until it is removed"

// markPaused applies pausedHealth and reports whether that changed anything. Ready keeps its
// status (a paused fleet is as ready as it was last observed) and takes the reason Paused,
// which kubectl get prints.
func MarkPaused(conds *[]metav1.Condition, gen int64) bool {
	before := append([]metav1.Condition(nil), *conds...)
	PausedHealth().Apply(conds, gen)
	return !equality.Semantic.DeepEqual(before, *conds)
}
