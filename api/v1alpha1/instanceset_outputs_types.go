package v1alpha1

// InstanceSetOutputs publishes the set's instances into a ConfigMap in the set's namespace, in formats that tools read.
// The operator creates the ConfigMap with a controller owner reference, so it is deleted with the set.
// It is rewritten from the set's status whenever an instance appears, goes, changes state or gets an IP; a poll that changes nothing writes nothing.
// Edits to the ConfigMap are undone and a deleted one is made again.
// A ConfigMap that already exists under the name and is not the set's own is never overwritten: the set reports Stalled (reason OutputsConfigMapNotOwned) until it is removed or another name is chosen.
// Renaming it or removing outputs leaves the old ConfigMap as it was, no longer updated, until the set is deleted.
type InstanceSetOutputs struct {
	// ConfigMapName names the ConfigMap, in the set's namespace.
	// It must be a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="configMapName must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	ConfigMapName string `json:"configMapName"`

	// Formats chooses the ConfigMap's keys; each format writes one key.
	// ips writes ips.txt: the public IPs of the ready instances, one per line, in instance ID order (status.publicIPs).
	// json writes instances.json: a JSON array of the live instances in ID order, each with id, name, publicIP, state and ready.
	// ansible writes inventory.yaml: an Ansible inventory in YAML with the ready instances that have an IP, under all.children.<group>.hosts.
	// The group is the set's name with every character other than letters, digits and '_' replaced by '_'.
	// A host is named after its instance, or talis-<id> when the name is empty, repeated or not a plain hostname; its vars are ansible_host (the IP) and talis_id.
	// Only valid IP addresses are published.
	// Defaults to all three.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:default={ips,json,ansible}
	// +listType=set
	// +optional
	Formats []OutputFormat `json:"formats,omitempty"`
}

// OutputFormat is one key of the outputs ConfigMap.
// +kubebuilder:validation:Enum=ips;json;ansible
type OutputFormat string

const (
	// OutputIPs is key ips.txt: one public IP per line.
	OutputIPs OutputFormat = "ips"
	// OutputJSON is key instances.json: a JSON array of the live instances.
	OutputJSON OutputFormat = "json"
	// OutputAnsible is key inventory.yaml: an Ansible YAML inventory.
	OutputAnsible OutputFormat = "ansible"
)

// Keys of the outputs ConfigMap, one per format.
const (
	OutputsKeyIPs     = "ips.txt"
	OutputsKeyJSON    = "instances.json"
	OutputsKeyAnsible = "inventory.yaml"
)

// OutputsLabel marks a ConfigMap written for a set's outputs; its value is the set's name (hashed when longer than a label value may be).
// The manager caches only ConfigMaps with this label.
const OutputsLabel = "infra.talis.io/outputs-of"
