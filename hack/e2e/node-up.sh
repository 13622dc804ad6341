#!/usr/bin/env bash
# Starts a single-node Kubernetes on this machine as root: etcd and kube-apiserver (the envtest builds),
# kube-controller-manager, kube-scheduler, containerd + runc with the bridge CNI, kubelet and kube-proxy
# (iptables). Every image it runs was imported from bin/e2e/images/ (nothing is pulled).
# Usage: node-up.sh ENVTEST_BIN_DIR NODE_BIN_DIR. State, logs and kubeconfig go to $E2E_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
envtest_bin="$1"; node_bin="$2"
images="$root/bin/e2e/images"

if ss -ltnH "sport = :${APISERVER_PORT}" | grep -q .; then
  echo "port ${APISERVER_PORT} is in use: another e2e node runs on this machine (stop it with its node-down.sh)" >&2; exit 1
fi
rm -rf "$E2E_DIR"; mkdir -p "$E2E_DIR"/{logs,pids,cni/net.d,cni/ipam,kubelet,pod-logs}
"$root/hack/e2e/pki.sh"
pki="$E2E_DIR/pki"
cat /proc/sys/net/ipv4/ip_forward >"$E2E_DIR/ip_forward.orig"
ip -4 addr show dev lo | grep -q " ${NODE_IP}/" || ip addr add "${NODE_IP}/32" dev lo

start() { # start NAME CMD...: in its own session, so node-down.sh can stop it with its children.
  local name="$1"; shift
  setsid "$@" >"$E2E_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$E2E_DIR/pids/$name"
}
wait_for() { # wait_for SECONDS WHAT CMD...
  local t="$1" what="$2"; shift 2
  for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "timed out after ${t}s waiting for $what; logs in $E2E_DIR/logs" >&2; exit 1
}
kubeconfig() { # kubeconfig FILE CERT
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://${NODE_IP}:${APISERVER_PORT}", certificate-authority: "$pki/ca.crt"}
users:
- name: u
  user: {client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key"}
contexts:
- name: e2e
  context: {cluster: e2e, user: u}
current-context: e2e
KC
}
kubeconfig "$KUBECONFIG_ADMIN" admin
kubeconfig "$E2E_DIR/kubelet.kubeconfig" kubelet
kubectl=("$node_bin/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")

start etcd "$envtest_bin/etcd" --data-dir "$E2E_DIR/etcd" --name e2e \
  --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "e2e=http://127.0.0.1:$((ETCD_PORT + 1))" --unsafe-no-fsync
start kube-apiserver "$envtest_bin/kube-apiserver" --etcd-servers "http://127.0.0.1:${ETCD_PORT}" \
  --bind-address "$NODE_IP" --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
  --service-cluster-ip-range "$SERVICE_CIDR" --cert-dir "$E2E_DIR/apiserver" \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction
wait_for 90 "kube-apiserver /readyz" "${kubectl[@]}" get --raw /readyz

start kube-controller-manager "$node_bin/kube-controller-manager" --kubeconfig "$KUBECONFIG_ADMIN" \
  --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" --use-service-account-credentials
start kube-scheduler "$node_bin/kube-scheduler" --kubeconfig "$KUBECONFIG_ADMIN" \
  --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false

# containerd 1.6 (Debian) with its CRI plugin; netns and every other path under $E2E_DIR.
cat >"$E2E_DIR/containerd.toml" <<TOML
version = 2
root = "$E2E_DIR/containerd/root"
state = "$E2E_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  # Root here lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj (the sandbox asks for -998).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E2E_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
TOML
cat >"$E2E_DIR/cni/net.d/10-talis-e2e.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "talis-e2e", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$E2E_DIR/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
]}
CNI
start containerd containerd --config "$E2E_DIR/containerd.toml"
ctr=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
wait_for 30 containerd "${ctr[@]}" version
for img in "$images"/*.tar; do "${ctr[@]}" images import "$img" >/dev/null; done

cat >"$E2E_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false            # this machine mounts cgroup v1
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
address: "$NODE_IP"
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$pki/kubelet.crt"
tlsPrivateKeyFile: "$pki/kubelet.key"
podLogsDir: "$E2E_DIR/pod-logs"
failSwapOn: false
maxPods: 30
# Imported images must never be collected, and a full disk elsewhere must not evict the test pods.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
YAML
start kubelet "$node_bin/kubelet" --config "$E2E_DIR/kubelet.yaml" --kubeconfig "$E2E_DIR/kubelet.kubeconfig" \
  --root-dir "$E2E_DIR/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

cat >"$E2E_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$KUBECONFIG_ADMIN"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
# Replies from a Service's pod then return through the node, bridge netfilter or not.
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0}
nodePortAddresses: ["${NODE_IP}/32"]
healthzBindAddress: "127.0.0.1:20256"
metricsBindAddress: "127.0.0.1:20249"
YAML
start kube-proxy "$node_bin/kube-proxy" --config "$E2E_DIR/kube-proxy.yaml"

wait_for 120 "node $NODE_NAME Ready" "${kubectl[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
wait_for 60 "the default ServiceAccount" "${kubectl[@]}" -n default get serviceaccount default
echo "node up: export KUBECONFIG=$KUBECONFIG_ADMIN"
