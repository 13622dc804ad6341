package shared

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestPauseReadsOnlyTrueAndFalse(t *testing.T) {
	for _, tc := range []struct {
		value   *string
		paused  bool
		misread bool
	}{
		{nil, false, false}, {ptr("false"), false, false}, {ptr("true"), true, false},
		{ptr("yes"), true, true}, {ptr(""), true, true}, {ptr("True"), true, true},
	} {
		o := &metav1.ObjectMeta{}
		if tc.value != nil {
			o.Annotations = map[string]string{infrav1.PausedAnnotation: *tc.value}
		}
		paused, misread := Pause(o)
		if paused != tc.paused || (misread != "") != tc.misread {
			t.Errorf("%v: paused %v, misread %q", tc.value, paused, misread)
		}
	}
}

func TestDeleteInstancesSaysWhatItIgnored(t *testing.T) {
	owned := func(id int64) bool { return id == 5 || id == 7 }
	ids, ignored := DeleteInstances("web-1, 9999,5,,-3", owned)
	if len(ids) != 1 || !ids[5] {
		t.Errorf("ids %v, want only 5", ids)
	}
	msg := DeleteInstancesMisread(ignored)
	for _, want := range []string{`"web-1" is not a Talis instance ID`, "9999 is not an instance of this set", `"-3" is not`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

func ptr(s string) *string { return &s }
