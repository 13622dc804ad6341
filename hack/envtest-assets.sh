#!/usr/bin/env bash
# Builds kube-apiserver and etcd for envtest from source through the Go module proxy (release
# downloads do not work on our build machines), caches them per version outside the repo, and places
# them where setup-envtest would: bin/k8s/<version>-linux-amd64/. Prints that directory.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.7.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
dest="${root}/bin/k8s/${K8S_VERSION}-${goos}-${goarch}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talis-operator/envtest/${K8S_VERSION}-etcd${ETCD_VERSION}-${goos}-${goarch}"

have() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ]; }

if have "$dest"; then echo "$dest"; exit 0; fi
if ! have "$cache"; then
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
  echo "building kube-apiserver v${K8S_VERSION} and etcd v${ETCD_VERSION} from source (a few minutes, once)" >&2

  # kube-apiserver: k8s.io/kubernetes requires its staging modules at v0.0.0; pin each to the release tag.
  mkdir -p "$work/k8s" "$work/out"
  kmod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module envtestbuild"
    echo "go $(go env GOVERSION | sed 's/^go//')"
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    awk '/^\t?k8s\.io\/[a-z0-9-]+ v0\.0\.0( |$)/ {print $1}' "$kmod" | sort -u |
      while read -r m; do echo "replace ${m} => ${m} v0.${K8S_VERSION#1.}"; done
  } >"$work/k8s/go.mod"
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  (cd "$work/k8s" && go mod tidy -e >/dev/null 2>&1 || true
   cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
   go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" >&2
   go build -trimpath -o "$work/out/kube-apiserver" -ldflags "-s -w \
     -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} \
     -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} \
     -X k8s.io/component-base/version.gitTreeState=clean" k8s.io/kubernetes/cmd/kube-apiserver)

  mkdir -p "$work/etcd"
  (cd "$work/etcd" && printf 'module etcdbuild\ngo %s\n' "$(go env GOVERSION | sed 's/^go//')" >go.mod &&
   go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >&2 &&
   go build -trimpath -o "$work/out/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)

  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache.tmp"; mv "$work/out" "$cache.tmp"; rm -rf "$cache"; mv "$cache.tmp" "$cache"
fi

mkdir -p "$(dirname "$dest")"
rm -rf "$dest.tmp"; cp -r "$cache" "$dest.tmp"; rm -rf "$dest"; mv "$dest.tmp" "$dest"
echo "$dest"
