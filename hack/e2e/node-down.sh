#!/usr/bin/env bash
# Stops the node node-up.sh started and removes what it left on the machine: containers, mounts under
# $E2E_DIR, the bridge, kube-proxy's iptables rules, the kubepods cgroups, the address on lo. Idempotent.
# Usage: node-down.sh [NODE_BIN_DIR] (for kube-proxy --cleanup).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
node_bin="${1:-}"

stop() { # stop NAME: TERM its session, KILL after 10s.
  local f="$E2E_DIR/pids/$1"; [ -f "$f" ] || return 0
  local pid; pid="$(cat "$f")"
  kill -TERM -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

[ -d "$E2E_DIR" ] || exit 0
stop kube-proxy
stop kubelet
# The pods' containers outlive the kubelet: kill and delete them while containerd still runs.
if [ -S "$CONTAINERD_SOCK" ]; then
  ctr=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
  for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  sleep 1
  for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do "${ctr[@]}" tasks delete -f "$t" >/dev/null 2>&1 || true; done
  for c in $("${ctr[@]}" containers ls -q 2>/dev/null); do "${ctr[@]}" containers delete "$c" >/dev/null 2>&1 || true; done
fi
stop containerd
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

# Shims that lost their containerd exit with their task; wait for any left holding mounts.
findmnt -rn -o TARGET | grep -F "$E2E_DIR/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
ip link del "$BRIDGE" 2>/dev/null || true
[ -n "$node_bin" ] && [ -x "$node_bin/kube-proxy" ] && "$node_bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
# The kubelet's own chains (KUBE-FIREWALL, canaries) and anything kube-proxy left: only this node makes KUBE-*.
for ipt in iptables ip6tables; do
  for t in filter nat mangle; do
    "$ipt" -t "$t" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' | grep -vE '^-A KUBE-' | sed 's/^-A/-D/' |
      while read -r rule; do eval "$ipt -t $t $rule" 2>/dev/null || true; done
    chains="$("$ipt" -t "$t" -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}')"
    for c in $chains; do "$ipt" -t "$t" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$ipt" -t "$t" -X "$c" 2>/dev/null || true; done
  done
done
for sub in /sys/fs/cgroup/*/; do
  [ -d "${sub}kubepods" ] && find "${sub}kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done
# Fixed host paths the kubelet and containerd use whatever their flags say: remove what this node left.
find /var/log/containers -maxdepth 1 -lname "$E2E_DIR/*" -delete 2>/dev/null || true
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers \
  /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null || true
ip addr del "${NODE_IP}/32" dev lo 2>/dev/null || true
[ -f "$E2E_DIR/ip_forward.orig" ] && cat "$E2E_DIR/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
rm -rf "$E2E_DIR"
