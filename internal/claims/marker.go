package claims

import (
	"bytes"
	"encoding/json"
	"fmt"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// markerKey is the key in the Talis project's config.settings that records which TalisProject
// created it, so that adoption can be decided from Talis alone (after a restart, a lost create
// response or an Orphan deletion).
const markerKey = "talis-operator.infra.talis.io/created-by"

// Marker is the creator marker of the TalisProject namespace/name in the cluster clusterID.
func Marker(clusterID, namespace, name string) string {
	return clusterID + "/" + namespace + "/" + name
}

// ConfigWithMarker is the config sent on create: the user's JSON object with the marker added
// under settings.
func ConfigWithMarker(p *infrav1.TalisProject, marker string) (string, error) {
	cfg := map[string]any{}
	if p.Spec.Config != nil && len(p.Spec.Config.Raw) > 0 {
		d := json.NewDecoder(bytes.NewReader(p.Spec.Config.Raw))
		d.UseNumber() // keep large integers as they were written
		if err := d.Decode(&cfg); err != nil {
			return "", fmt.Errorf("spec.config is not a JSON object: %w", err)
		}
	}
	settings, ok := cfg["settings"].(map[string]any)
	if !ok {
		if _, present := cfg["settings"]; present {
			return "", fmt.Errorf("spec.config.settings must be a JSON object")
		}
		settings = map[string]any{}
	}
	settings[markerKey] = marker
	cfg["settings"] = settings
	out, err := json.Marshal(cfg)
	return string(out), err
}

// MarkerOf reads the marker from a Talis project's config; "" when there is none.
func MarkerOf(config string) string {
	var cfg struct {
		Settings map[string]json.RawMessage `json:"settings"`
	}
	if json.Unmarshal([]byte(config), &cfg) != nil {
		return ""
	}
	var m string
	if json.Unmarshal(cfg.Settings[markerKey], &m) != nil {
		return ""
	}
	return m
}
