package instanceset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// templateHash identifies an instance template; instances with another hash are outdated.
func TemplateHash(t infrav1.InstanceTemplate) string {
	raw, _ := json.Marshal(t) // a struct of plain fields always marshals
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:5])
}
