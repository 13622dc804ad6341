# Sourced by the scripts that build tools from source once per machine (envtest-assets.sh,
# e2e/node-assets.sh, gitops/*-assets.sh).

# publish_build OUT CACHE moves a finished build into the per-machine cache by renames, so a build
# killed midway never leaves a half-filled cache that a later run would take as complete.
publish_build() {
  mkdir -p "$(dirname "$2")"
  rm -rf "$2.tmp"; mv "$1" "$2.tmp"; rm -rf "$2"; mv "$2.tmp" "$2"
}

# install_copy CACHE DEST copies the cached build into the checkout's bin/ the same way, and
# prints DEST.
install_copy() {
  mkdir -p "$(dirname "$2")"
  rm -rf "$2.tmp"; cp -r "$1" "$2.tmp"; rm -rf "$2"; mv "$2.tmp" "$2"
  echo "$2"
}
