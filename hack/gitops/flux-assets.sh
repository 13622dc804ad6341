#!/usr/bin/env bash
# Builds Flux's kustomize-controller from its Go module through the module proxy (no release downloads
# on our build machines), with the CRDs it needs (its Kustomization; ExternalArtifact, GitRepository,
# OCIRepository and Bucket from source-controller's module, which it watches: nothing of
# source-controller is built, the tests produce the artifact themselves). Caches them per version
# outside the repo, the way hack/e2e/node-assets.sh does, and copies them to
# bin/gitops/flux-<version>-<os>-<arch>/ (kustomize-controller, crds/). Prints that directory.
#
# `go install github.com/fluxcd/kustomize-controller@v` refuses the module (it replaces its own api
# module with ./api, which the module zip leaves out): the module is copied, the replace dropped so that
# the api module comes from the proxy at the same version, and built static with -trimpath as its
# Dockerfile does (stripped, too). Run once per machine and version: several minutes on 2 cores.
set -euo pipefail

KUSTOMIZE_CONTROLLER_VERSION="${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.6}"
SOURCE_CONTROLLER_VERSION="${SOURCE_CONTROLLER_VERSION:-v1.9.3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "${root}/hack/lib/cache.sh"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
name="flux-kc${KUSTOMIZE_CONTROLLER_VERSION}-sc${SOURCE_CONTROLLER_VERSION}-${goos}-${goarch}"
dest="${root}/bin/gitops/${name}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talis-operator/gitops/${name}"
crds=(source.toolkit.fluxcd.io_externalartifacts.yaml source.toolkit.fluxcd.io_gitrepositories.yaml
  source.toolkit.fluxcd.io_ocirepositories.yaml source.toolkit.fluxcd.io_buckets.yaml)

have() { [ -x "$1/kustomize-controller" ] && [ -f "$1/crds/kustomize.toolkit.fluxcd.io_kustomizations.yaml" ] &&
  for c in "${crds[@]}"; do [ -f "$1/crds/$c" ] || return 1; done; }
# moddir MODULE@VERSION downloads a module (zip only, nothing built) and prints its directory.
moddir() {
  local out; out="$(cd "$work" && go mod download -json "$1")" || { echo "go mod download $1: $out" >&2; return 1; }
  echo "$out" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'
}

if have "$dest"; then echo "$dest"; exit 0; fi
if ! have "$cache"; then
  work="$(mktemp -d)"; trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
  echo "building kustomize-controller ${KUSTOMIZE_CONTROLLER_VERSION} from source (several minutes, once)" >&2
  start=$(date +%s)
  mkdir -p "$work/out/crds"
  kc="$(moddir "github.com/fluxcd/kustomize-controller@${KUSTOMIZE_CONTROLLER_VERSION}")"
  sc="$(moddir "github.com/fluxcd/source-controller@${SOURCE_CONTROLLER_VERSION}")"
  [ -n "$kc" ] && [ -n "$sc" ] || { echo "go mod download of the Flux modules failed" >&2; exit 1; }
  cp "$kc/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$work/out/crds/"
  for c in "${crds[@]}"; do cp "$sc/config/crd/bases/$c" "$work/out/crds/"; done

  cp -r "$kc" "$work/src"; chmod -R u+w "$work/src"
  (cd "$work/src"
   go mod edit -dropreplace "github.com/fluxcd/kustomize-controller/api"
   # -mod=mod adds the go.sum lines the api module now needs; no tidy (it would fetch every test dependency).
   go build -trimpath -ldflags "-s -w" -o "$work/out/kustomize-controller" .)
  echo "kustomize-controller built in $(( $(date +%s) - start )) s" >&2
  chmod -R u+w "$work/out" # the CRDs come read-only from the module cache

  publish_build "$work/out" "$cache"
fi

install_copy "$cache" "$dest"
