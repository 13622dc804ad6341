# Sourced by the hack/e2e scripts: where the node lives and how it is addressed. One node per machine:
# the names, ports and ranges below are fixed, and chosen away from Kubernetes' defaults.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K8S_VERSION="${K8S_VERSION:-1.37.2}"
# Resolved: mounts are listed by their real path, and bin/ may be a symlink.
E2E_DIR="${E2E_DIR:-$(realpath -m "$root/bin/e2e/run")}"   # all node state; removed by node-down.sh
NODE_NAME=talis-e2e
NODE_IP=10.213.255.1                          # added to lo: reachable from pods, no dummy device needed
POD_CIDR=10.213.0.0/24
SERVICE_CIDR=10.213.128.0/24
KUBERNETES_SVC_IP=10.213.128.1
BRIDGE=talise2e0
APISERVER_PORT=16443
ETCD_PORT=22379
KUBECONFIG_ADMIN="$E2E_DIR/admin.kubeconfig"
CONTAINERD_SOCK="$E2E_DIR/containerd/containerd.sock"
PAUSE_IMAGE=localhost/talis-e2e/pause:1
