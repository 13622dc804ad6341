#!/usr/bin/env bash
# Builds the e2e's images without a container engine into bin/e2e/images/*.tar (OCI archives):
# the manager exactly as the Dockerfile builds it (static, -trimpath -s -w, /manager, uid 65532), the
# emulator, the HPA step's external metrics adapter, and the pod sandbox's pause image.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
out="$root/bin/e2e/images"; b="$root/bin/e2e/image-bin"
mkdir -p "$out" "$b"
cd "$root"
export CGO_ENABLED=0 GOOS=linux
go build -trimpath -ldflags="-s -w" -o "$b/manager" ./cmd/manager
go build -trimpath -ldflags="-s -w" -o "$b/talis-emulator" ./cmd/talis-emulator
go build -trimpath -ldflags="-s -w" -o "$b/pause" ./hack/e2e/pause
go build -trimpath -ldflags="-s -w" -o "$b/extmetrics" ./hack/e2e/extmetrics
img() { go run ./hack/e2e/ociimage "$@"; }
img -o "$out/manager.tar" -name "${E2E_MANAGER_IMAGE:-localhost/talis-operator:e2e}" -entrypoint /manager -add "$b/manager=/manager"
img -o "$out/emulator.tar" -name localhost/talis-emulator:e2e -entrypoint /talis-emulator -add "$b/talis-emulator=/talis-emulator"
img -o "$out/extmetrics.tar" -name localhost/talis-e2e/extmetrics:e2e -entrypoint /extmetrics -add "$b/extmetrics=/extmetrics"
img -o "$out/pause.tar" -name "$PAUSE_IMAGE" -entrypoint /pause -add "$b/pause=/pause"
