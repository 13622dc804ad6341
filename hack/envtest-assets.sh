#!/usr/bin/env bash
# Builds kube-apiserver and etcd for envtest from source through the Go module proxy (release
# downloads do not work on our build machines), caches them per version outside the repo, and places
# them where setup-envtest would: bin/k8s/<version>-linux-amd64/. Prints that directory.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "${root}/hack/lib/k8s-module.sh"
. "${root}/hack/lib/cache.sh"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
dest="${root}/bin/k8s/${K8S_VERSION}-${goos}-${goarch}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talis-operator/envtest/${K8S_VERSION}-etcd${ETCD_VERSION}-${goos}-${goarch}"

have() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ]; }

if have "$dest"; then echo "$dest"; exit 0; fi
if ! have "$cache"; then
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
  echo "building kube-apiserver v${K8S_VERSION} and etcd v${ETCD_VERSION} from source (a few minutes, once)" >&2

  # kube-apiserver, through a throw-away module (hack/lib/k8s-module.sh).
  mkdir -p "$work/k8s" "$work/out"
  k8s_module "$work/k8s" envtestbuild "$K8S_VERSION"
  (cd "$work/k8s" && go mod tidy -e >/dev/null 2>&1 || true
   cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
   go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >&2
   go build -trimpath -o "$work/out/kube-apiserver" -ldflags "$(k8s_ldflags "$K8S_VERSION")" k8s.io/kubernetes/cmd/kube-apiserver)

  mkdir -p "$work/etcd"
  (cd "$work/etcd" && printf 'module etcdbuild\ngo %s\n' "$(go env GOVERSION | sed 's/^go//')" >go.mod &&
   go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2 &&
   go build -trimpath -o "$work/out/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)

  publish_build "$work/out" "$cache"
fi

install_copy "$cache" "$dest"
