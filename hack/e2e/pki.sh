#!/usr/bin/env bash
# Writes the node's certificates into $E2E_DIR/pki: a CA, the apiserver's serving cert, client certs
# for the admin (system:masters) and the kubelet (system:node:<name>), and the ServiceAccount key pair.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
d="$E2E_DIR/pki"; mkdir -p "$d"; cd "$d"

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }
# cert NAME SUBJECT [SAN]: a leaf signed by the CA.
cert() {
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  local ext="$1.ext"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"; [ -n "${3:-}" ] && echo "subjectAltName=$3"; } >"$ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile "$ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$ext"
}

key ca
openssl req -x509 -new -key ca.key -subj "/CN=talis-e2e-ca" -days 2 -out ca.crt 2>/dev/null
cert apiserver "/CN=kube-apiserver" \
  "IP:127.0.0.1,IP:${NODE_IP},IP:${KUBERNETES_SVC_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=e2e-admin"
cert kubelet "/O=system:nodes/CN=system:node:${NODE_NAME}" "IP:${NODE_IP},DNS:${NODE_NAME}"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 600 ./*.key
