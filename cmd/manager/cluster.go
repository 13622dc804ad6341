package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clusterIdentity is --cluster-id, or the UID of kube-system: it lives as long as the cluster
// and differs between clusters, which is all the identity needs.
func (o *options) clusterIdentity(reader client.Reader) (string, error) {
	if o.clusterID != "" {
		return o.clusterID, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ns corev1.Namespace
	if err := reader.Get(ctx, client.ObjectKey{Name: "kube-system"}, &ns); err != nil {
		return "", fmt.Errorf("reading the kube-system namespace for the default --cluster-id (set --cluster-id instead): %w", err)
	}
	return string(ns.UID), nil
}
