#!/usr/bin/env bash
# Builds the node's Kubernetes binaries (kubelet, kube-controller-manager, kube-scheduler, kube-proxy,
# kubectl) from source through the Go module proxy, the way hack/envtest-assets.sh builds kube-apiserver,
# caches them per version outside the repo and copies them to bin/e2e/k8s/<version>-<os>-<arch>/.
# Prints that directory.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "${root}/hack/lib/k8s-module.sh"
. "${root}/hack/lib/cache.sh"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
dest="${root}/bin/e2e/k8s/${K8S_VERSION}-${goos}-${goarch}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talis-operator/e2e/node-${K8S_VERSION}-${goos}-${goarch}"
bins=(kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)

have() { for b in "${bins[@]}"; do [ -x "$1/$b" ] || return 1; done; }

if have "$dest"; then echo "$dest"; exit 0; fi
if ! have "$cache"; then
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
  echo "building ${bins[*]} v${K8S_VERSION} from source (several minutes, once)" >&2

  # The throw-away module of hack/lib/k8s-module.sh.
  mkdir -p "$work/k8s" "$work/out"
  k8s_module "$work/k8s" e2enodebuild "$K8S_VERSION"
  pkgs=(); for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$work/k8s"
   { echo '//go:build tools'; echo; echo 'package tools'; echo
     for p in "${pkgs[@]}"; do echo "import _ \"$p\""; done; } >tools.go
   go get "k8s.io/kubernetes@v${K8S_VERSION}" >&2
   go mod tidy -e >/dev/null 2>&1 || true
   # One go build for all five shares the compile of the common packages.
   go build -trimpath -o "$work/out/" -ldflags "$(k8s_ldflags "$K8S_VERSION")" "${pkgs[@]}")

  publish_build "$work/out" "$cache"
fi

install_copy "$cache" "$dest"
