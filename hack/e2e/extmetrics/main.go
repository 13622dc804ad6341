/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// Command extmetrics is the e2e's external metrics adapter: behind an APIService it serves
// external.metrics.k8s.io/v1beta1 with one metric whose value the test sets (PUT /value), so that
// kube-controller-manager's HPA controller can scale a TalisInstanceSet on an External metric.
// TLS with a certificate made at start (the APIService skips verification); no authentication.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"io"
	"log"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

const groupVersion = "external.metrics.k8s.io/v1beta1"

func main() {
	addr := flag.String("addr", ":8443", "listen address (HTTPS)")
	metric := flag.String("metric", "talis_e2e_queue_depth", "the one metric served")
	flag.Parse()

	var mu sync.Mutex
	value := resource.MustParse("0")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("PUT /value", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		q, err := resource.ParseQuantity(strings.TrimSpace(string(b)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		value = q
		mu.Unlock()
		log.Printf("%s = %s", *metric, q.String())
	})
	mux.HandleFunc("GET /apis/"+groupVersion, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": groupVersion,
			"resources": []map[string]any{{"name": *metric, "singularName": "", "namespaced": true,
				"kind": "ExternalMetricValueList", "verbs": []string{"get"}}}})
	})
	mux.HandleFunc("GET /apis/"+groupVersion+"/namespaces/{ns}/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != *metric {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
			return
		}
		mu.Lock()
		v := value.String()
		mu.Unlock()
		log.Printf("%s %s -> %s", r.Method, r.URL, v)
		writeJSON(w, map[string]any{"kind": "ExternalMetricValueList", "apiVersion": groupVersion, "metadata": map[string]any{},
			"items": []map[string]any{{"metricName": *metric, "metricLabels": map[string]string{},
				"timestamp": time.Now().UTC().Format(time.RFC3339), "value": v}}})
	})
	cert, err := selfSigned()
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"external-metrics.talis-e2e.svc"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
