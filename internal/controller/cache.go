package controller

import (
	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions are the manager's cache settings: every namespace, or only those given.
//
// Secrets are watched for their metadata only (WatchesMetadata), and only those labelled for
// the operator: the cache never holds a key, nor the metadata of every Secret in the cluster
// (service account tokens, Helm releases). Keys are read when used, with a live Get
// (talisconn.Registry), so a change is seen at once and nothing else keeps a copy.
func CacheOptions(namespaces []string) cache.Options {
	// Nothing reads managedFields; leaving them out of the cache roughly halves its memory.
	// Status updates sent without them leave the server's copy as it is.
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         CacheByObject(),
	}
	opts.ByObject[&infrav1.TalisInstanceSet{}] = cache.ByObject{Transform: newInterner().compactCachedSet}
	opts.ByObject[&corev1.Secret{}] = cache.ByObject{Label: labels.SelectorFromSet(labels.Set{infrav1.CredentialsLabel: "true"})}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// CacheByObject narrows what the manager caches: only the ConfigMaps written for outputs,
// never every ConfigMap of the cluster.
func CacheByObject() map[client.Object]cache.ByObject {
	labelled, _ := labels.NewRequirement(infrav1.OutputsLabel, selection.Exists, nil)
	return map[client.Object]cache.ByObject{
		&corev1.ConfigMap{}: {Label: labels.NewSelector().Add(*labelled)},
	}
}
