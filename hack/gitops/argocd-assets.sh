#!/usr/bin/env bash
# Builds Argo CD's application-controller and repo-server from its Go module through the module proxy (no
# release downloads on our build machines) into one binary, from the small main hack/gitops/argocd/main.go
# (which also serves an in-memory redis), with the CRDs it needs (Application, AppProject). Caches them per
# version outside the repo, as flux-assets.sh does, and copies them to
# bin/gitops/argocd-<version>-<os>-<arch>/ (argocd, crds/). Prints that directory.
#
# The main is built in a throw-away module made from Argo CD's own go.mod (its pins and its k8s.io
# replaces, which a dependency's go.mod cannot pass on), requiring Argo CD at the version, nothing
# patched. Why v3.2.11: from v3.3 on, Argo CD builds its gitops-engine from a directory of its repository
# (a replace the module zip leaves out) and the engine version its go.mod names instead does not compile
# with it (v3.3.19) or is refused by the proxy (v3.4, v3.5); v3.6 needs Go 1.27. v3.2 requires a served
# engine, but v3.2.12 does not compile (controller/cache calls settings.ValidateExternalURL, which the
# module does not define).
# Run once per machine and version: many minutes on 2 cores.
set -euo pipefail

ARGOCD_VERSION="${ARGOCD_VERSION:-v3.2.11}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "${root}/hack/lib/cache.sh"
goos="$(go env GOOS)"; goarch="$(go env GOARCH)"
name="argocd-${ARGOCD_VERSION}-${goos}-${goarch}"
dest="${root}/bin/gitops/${name}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talis-operator/gitops/${name}"
main="${root}/hack/gitops/argocd/main.go"

# The binary is rebuilt when the main changes: its hash is kept beside it.
sum="$(sha256sum "$main" | cut -d' ' -f1)"
have() { [ -x "$1/argocd" ] && [ "$(cat "$1/main.sha256" 2>/dev/null)" = "$sum" ] &&
  [ -f "$1/crds/application-crd.yaml" ] && [ -f "$1/crds/appproject-crd.yaml" ]; }

if have "$dest"; then echo "$dest"; exit 0; fi
if ! have "$cache"; then
  work="$(mktemp -d)"; trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
  echo "building Argo CD ${ARGOCD_VERSION} from source (many minutes, once)" >&2
  start=$(date +%s)
  mkdir -p "$work/out/crds" "$work/mod"
  out="$(cd "$work" && go mod download -json "github.com/argoproj/argo-cd/v3@${ARGOCD_VERSION}")" ||
    { echo "go mod download of Argo CD ${ARGOCD_VERSION}: $out" >&2; exit 1; }
  argocd="$(echo "$out" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  if grep -q '=> ./gitops-engine' "$argocd/go.mod"; then
    echo "Argo CD ${ARGOCD_VERSION} builds its gitops-engine from its repository, which its module leaves out: use v3.2" >&2
    exit 1
  fi
  cp "$argocd/manifests/crds/application-crd.yaml" "$argocd/manifests/crds/appproject-crd.yaml" "$work/out/crds/"
  cp "$argocd/go.mod" "$argocd/go.sum" "$main" "$work/mod/"
  chmod -R u+w "$work/mod"
  (cd "$work/mod"
   go mod edit -module talis-operator/argocd-assets -require "github.com/argoproj/argo-cd/v3@${ARGOCD_VERSION}"
   # -mod=mod adds the go.sum lines Argo CD's own module needs; the tag keeps the main out of our module.
   go build -tags talis_argocd -trimpath -ldflags "-s -w" -o "$work/out/argocd" .)
  echo "$sum" >"$work/out/main.sha256"
  echo "Argo CD built in $(( $(date +%s) - start )) s" >&2
  chmod -R u+w "$work/out" # the CRDs come read-only from the module cache

  publish_build "$work/out" "$cache"
fi

install_copy "$cache" "$dest"
