#!/usr/bin/env bash
# Installs the node's Debian packages if any is missing: the container runtime, the CNI plugins and
# the tools node-up.sh and node-down.sh call.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables conntrack openssl iproute2 util-linux)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
