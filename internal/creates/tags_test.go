package creates

import (
	"regexp"
	"testing"
)

func TestTagsRoundTrip(t *testing.T) {
	id := Identity("c1", "team-a", "web")
	tags := Tags(id, 12, "abcde12345", []string{"team:a"})
	doTag := regexp.MustCompile(`^[A-Za-z0-9:_-]+$`) // what DigitalOcean accepts
	for _, tag := range tags {
		if !doTag.MatchString(tag) {
			t.Errorf("tag %q is not a valid DigitalOcean tag", tag)
		}
	}
	o, ok := ParseOwnership(tags)
	if !ok || o != (Ownership{Identity: id, Attempt: 12, TemplateHash: "abcde12345"}) {
		t.Fatalf("ParseOwnership(%v) = %+v, %v", tags, o, ok)
	}
}

func TestParseOwnership(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags []string
		want Ownership
		ok   bool
	}{
		{"no operator tags", []string{"team:a"}, Ownership{}, false},
		{"attempt without a set", []string{TagTryPrefix + "3"}, Ownership{Attempt: 3}, false},
		{"malformed attempt reads as 0", []string{TagSetPrefix + "x", TagTryPrefix + "three"}, Ownership{Identity: "x"}, true},
		{"negative attempt", []string{TagSetPrefix + "x", TagTryPrefix + "-1"}, Ownership{Identity: "x", Attempt: -1}, true},
	} {
		got, ok := ParseOwnership(tc.tags)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIdentityCannotBeSplitTwoWays(t *testing.T) {
	if Identity("", "a-b", "c") == Identity("", "a", "b-c") {
		t.Fatal("namespace and name collide")
	}
	if Identity("x", "a", "b") != Identity("x", "a", "b") {
		t.Fatal("identity is not stable")
	}
}
