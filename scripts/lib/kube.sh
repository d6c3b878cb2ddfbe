# shellcheck shell=bash
# Builds the etcd and kube-apiserver binaries that the Kubernetes API server tests run, from the Go module
# proxy, pinned by the wrapper modules under scripts/kube/. Source this file and call
#   ensure_kube_binaries <repo root>
# which exports ETCD_BIN and KUBE_APISERVER_BIN.
#
# The binaries go to a machine-wide cache, ${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/kube/<versions>/, not to
# the work tree: a cold build takes many minutes on two cores, and CI clones the repository afresh on the
# same machine, so a cache inside the clone would be rebuilt on every run. A stamp of the wrapper modules'
# go.mod and go.sum decides whether a cached binary is current; a lock keeps two test runs from building at
# once.

# Prints the version that a wrapper module's go.mod requires of <module>.
kube_module_version() {
  local go_mod=$1 module=$2
  awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$go_mod"
}

# Builds <tool package> from the wrapper module in <module dir> into <output> with <ldflags>, unless <output>
# exists with a stamp equal to a digest of the wrapper's go.mod and go.sum and the flags.
kube_build_tool() {
  local module_dir=$1 package=$2 output=$3 ldflags=$4
  local stamp
  stamp=$( (cat "$module_dir/go.mod" "$module_dir/go.sum" && echo "$ldflags") | sha256sum | cut -d' ' -f1)
  if [ -x "$output" ] && [ -f "$output.stamp" ] && [ "$(cat "$output.stamp")" = "$stamp" ]; then
    return 0
  fi
  echo "building $(basename "$output") from $package (a cold build takes several minutes)" >&2
  local started
  started=$(date +%s)
  # CGO off: a static binary that does not depend on this machine's C library; -trimpath and stripped
  # symbols keep the cached file small; no VCS stamp, since the wrapper's repository says nothing about
  # the tool. The build writes to a temporary name first so that an interrupted build never leaves a
  # truncated binary behind a valid stamp.
  (cd "$module_dir" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="$ldflags" \
    -o "$output.tmp" "$package") >&2
  mv -f "$output.tmp" "$output"
  echo "$stamp" > "$output.stamp"
  echo "built $(basename "$output") in $(($(date +%s) - started)) s" >&2
}

# Puts the Go toolchain on PATH (where the official tarball installs it, if not already there), or fails
# saying that <what> needs it.
ensure_go() {
  local what=$1
  command -v go >/dev/null && return 0
  if [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "$what needs the Go toolchain (go 1.26 or newer); install it and run again" >&2
    return 1
  fi
}

# Prints the cache folder of a tool that a wrapper module pins,
# ${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/<tool>/<version of module in go.mod>, after creating it; fails
# if the wrapper's go.mod names no version of the module.
pinned_tool_dir() {
  local tool=$1 go_mod=$2 module=$3
  local version
  version=$(kube_module_version "$go_mod" "$module")
  if [ -z "$version" ]; then
    echo "cannot read the pinned $tool version ($module) from $go_mod" >&2
    return 1
  fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/$tool/$version"
  mkdir -p "$dir"
  echo "$dir"
}

ensure_kube_binaries() {
  local repo_root=$1
  local wrappers="$repo_root/scripts/kube"
  ensure_go "building etcd and kube-apiserver for the Kubernetes API server tests" || return 1
  local etcd_version apiserver_version
  etcd_version=$(kube_module_version "$wrappers/etcd/go.mod" go.etcd.io/etcd/server/v3)
  apiserver_version=$(kube_module_version "$wrappers/kube-apiserver/go.mod" k8s.io/kubernetes)
  if [ -z "$etcd_version" ] || [ -z "$apiserver_version" ]; then
    echo "cannot read the pinned etcd or kubernetes version from $wrappers/*/go.mod" >&2
    return 1
  fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/kube/etcd-${etcd_version}_kube-apiserver-${apiserver_version}"
  mkdir -p "$dir"
  (
    # One build at a time on this machine: a second test run waits here for the first one's binaries.
    flock 9
    kube_build_tool "$wrappers/etcd" go.etcd.io/etcd/server/v3 "$dir/etcd" "-s -w"
    # Kubernetes' own build stamps its version in; without it the server reports v0.0.0 at /version.
    local minor=${apiserver_version#v1.}
    minor=${minor%%.*}
    kube_build_tool "$wrappers/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$dir/kube-apiserver" \
      "-s -w -X k8s.io/component-base/version.gitVersion=$apiserver_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ) 9>"$dir/.lock"
  export ETCD_BIN="$dir/etcd"
  export KUBE_APISERVER_BIN="$dir/kube-apiserver"
}
