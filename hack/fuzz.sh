#!/usr/bin/env bash
# Runs every fuzz target of the module for a while each (go test allows one -fuzz target per run).
# The committed seed corpora (testdata/fuzz/) also run as plain tests in `make test`.
set -euo pipefail
fuzztime="${1:-20s}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
