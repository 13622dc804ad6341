package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// apiKeySecretIndex indexes TalisProjects by the Secret holding their API key.
const apiKeySecretIndex = "spec.connection.apiKeySecretRef.name"

func apiKeySecretOf(o client.Object) []string {
	c := o.(*infrav1.TalisProject).Spec.Connection
	if c == nil || c.APIKeySecretRef == nil {
		return nil
	}
	return []string{c.APIKeySecretRef.Name}
}

// projectsOfSecret maps a Secret to the projects of its namespace that name it: a fixed key is
// then used within seconds instead of after --error-retry. A project's sets follow, as they are
// woken by every change of their project's status.
func (r *TalisProjectReconciler) projectsOfSecret(ctx context.Context, o client.Object) []ctrl.Request {
	var projects infrav1.TalisProjectList
	if err := r.List(ctx, &projects, client.InNamespace(o.GetNamespace()), client.MatchingFields{apiKeySecretIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(projects.Items))
	for _, p := range projects.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return reqs
}

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
	opts.ByObject[&corev1.Secret{}] = cache.ByObject{Label: labels.SelectorFromSet(labels.Set{infrav1.CredentialsLabel: "true"})}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
