package claims

import (
	"encoding/json"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

func TestCreatorMarkerKeepsTheUsersConfig(t *testing.T) {
	p := &infrav1.TalisProject{}
	p.Spec.Config = &apiextensionsv1.JSON{Raw: []byte(`{"resources":{"cpu":12345678901234567890},"settings":{"tier":"gold"}}`)}
	cfg, err := ConfigWithMarker(p, "c/ns/p")
	if err != nil {
		t.Fatal(err)
	}
	if MarkerOf(cfg) != "c/ns/p" {
		t.Errorf("marker not found in %s", cfg)
	}
	var got map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cfg), &got); err != nil {
		t.Fatal(err)
	}
	if string(got["resources"]["cpu"]) != "12345678901234567890" || string(got["settings"]["tier"]) != `"gold"` {
		t.Errorf("the user's config changed: %s", cfg)
	}
	if cfg, _ := ConfigWithMarker(&infrav1.TalisProject{}, "m"); MarkerOf(cfg) != "m" {
		t.Errorf("no config: %s", cfg)
	}
	for _, c := range []string{"", "{}", `{"settings":{}}`, "not json", `{"settings":{"` + markerKey + `":7}}`} {
		if m := MarkerOf(c); m != "" {
			t.Errorf("MarkerOf(%q) = %q", c, m)
		}
	}
}
