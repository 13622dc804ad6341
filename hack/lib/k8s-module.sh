# Sourced by the scripts that build Kubernetes binaries from source (hack/envtest-assets.sh,
# hack/e2e/node-assets.sh). `go install k8s.io/kubernetes/cmd/...@v` fails: k8s.io/kubernetes
# requires its staging modules at v0.0.0 and replaces them with local paths. A throw-away module
# that pins each of them to the release tag builds instead.

# k8s_module DIR NAME VERSION writes DIR/go.mod for module NAME requiring k8s.io/kubernetes vVERSION.
k8s_module() {
  local dir="$1" name="$2" version="$3" kmod
  kmod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v${version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module ${name}"
    echo "go $(go env GOVERSION | sed 's/^go//')"
    echo "require k8s.io/kubernetes v${version}"
    awk '/^\t?k8s\.io\/[a-z0-9-]+ v0\.0\.0( |$)/ {print $1}' "$kmod" | sort -u |
      while read -r m; do echo "replace ${m} => ${m} v0.${version#1.}"; done
  } >"$dir/go.mod"
}

# k8s_ldflags VERSION prints the -ldflags of a release build (stripped, version-stamped).
k8s_ldflags() {
  local version="$1"
  echo "-s -w -X k8s.io/component-base/version.gitVersion=v${version}" \
    "-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)" \
    "-X k8s.io/component-base/version.gitTreeState=clean"
}
