package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestClusterIdentity(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	reader := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "0b8e3c1a-uid"}}).Build()

	o, err := parseFlagsWithZap(nil, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := o.clusterIdentity(reader); err != nil || id != "0b8e3c1a-uid" {
		t.Errorf("default: %q, %v; want the kube-system UID", id, err)
	}
	o, err = parseFlagsWithZap([]string{"--cluster-id", "prod-eu-1", "--allowed-talis-urls", " https://a.example.com, https://b.example.com/talis "}, &zap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := o.clusterIdentity(reader); id != "prod-eu-1" {
		t.Errorf("--cluster-id: got %q", id)
	}
	if got := o.allowedTalisURLs(); len(got) != 2 || got[1] != "https://b.example.com/talis" {
		t.Errorf("--allowed-talis-urls: %q", got)
	}
	for _, bad := range []string{"a/b", "has space", "x\x00"} {
		if _, err := parseFlagsWithZap([]string{"--cluster-id", bad}, &zap.Options{}); err == nil {
			t.Errorf("--cluster-id %q accepted", bad)
		}
	}
}
