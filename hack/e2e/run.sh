#!/usr/bin/env bash
# `make test-e2e`: builds (or takes from the cache) the node's binaries and the images, brings the
# node up, runs test/e2e against it and always takes the node down again. Needs root.
# The node's logs of the last run are kept in bin/e2e/logs/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ "$(id -u)" = 0 ] || { echo "test-e2e runs a kubelet and containerd: it needs root" >&2; exit 1; }
: "${HELM:?}" "${KUSTOMIZE:?}"
cd "$root"
t0=$SECONDS
"$root/hack/e2e/deps.sh"
envtest_bin="$(K8S_VERSION="$K8S_VERSION" ETCD_VERSION="${ETCD_VERSION:-3.7.0}" "$root/hack/envtest-assets.sh")"
node_bin="$(K8S_VERSION="$K8S_VERSION" "$root/hack/e2e/node-assets.sh")"
"$root/hack/e2e/images.sh"
echo "e2e: binaries and images ready after $((SECONDS - t0))s" >&2

down() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -f "$KUBECONFIG_ADMIN" ]; then
    "$node_bin/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" get all,events -A -o wide >"$E2E_DIR/logs/cluster.txt" 2>&1 || true
    echo "e2e failed: node logs and cluster state in bin/e2e/logs/" >&2
  fi
  rm -rf "$root/bin/e2e/logs"; cp -r "$E2E_DIR/logs" "$root/bin/e2e/logs" 2>/dev/null || true
  "$root/hack/e2e/node-down.sh" "$node_bin"
}
# A run of this clone that was killed leaves its node behind: take it down first.
"$root/hack/e2e/node-down.sh" "$node_bin"
trap down EXIT
"$root/hack/e2e/node-up.sh" "$envtest_bin" "$node_bin"
echo "e2e: node up after $((SECONDS - t0))s" >&2
E2E_KUBECONFIG="$KUBECONFIG_ADMIN" E2E_KUBECTL="$node_bin/kubectl" E2E_HELM="$HELM" E2E_KUSTOMIZE="$KUSTOMIZE" \
  E2E_CONTAINERD_SOCK="$CONTAINERD_SOCK" \
  go test -tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-30m}" ./test/e2e/
echo "e2e: passed after $((SECONDS - t0))s" >&2
