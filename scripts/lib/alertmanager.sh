# shellcheck shell=bash
# Builds the Alertmanager and amtool binaries that the alerting tests run, from the Go module proxy, pinned
# by the wrapper module scripts/alertmanager/ (the release the stack's image tag defaults to). Source this
# file and call
#   ensure_alertmanager_binaries <repo root>
# which exports ALERTMANAGER_BIN and AMTOOL_BIN.
#
# The binaries go to ${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/alertmanager/<version>/, for the reasons
# kube.sh gives. amtool builds from the wrapper as it is. The server does not: it embeds its web UI from
# ui/app/dist, which the UI's own build (Elm and npm) produces and the module's zip leaves out, so
# `go build` stops at "pattern app/dist: no matching files found". The tests need the API, not the UI, so
# the build copies the module next to the cache, puts a placeholder page where the UI would be, and builds
# through a copy of the wrapper whose `replace` points at that copy. The binary answers the API and its
# probes; its web page is the placeholder.

# shellcheck source=kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"

alertmanager_build_server() {
  local wrapper=$1 module=$2 version=$3 dir=$4
  local build="$dir/build"
  local stamp
  stamp=$( (cat "$wrapper/go.mod" "$wrapper/go.sum" && echo "stub-ui") | sha256sum | cut -d' ' -f1)
  if [ -x "$dir/alertmanager" ] && [ -f "$dir/alertmanager.stamp" ] && [ "$(cat "$dir/alertmanager.stamp")" = "$stamp" ]; then
    return 0
  fi
  local source
  source=$(cd "$wrapper" && go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4 }')
  if [ -z "$source" ] || [ ! -d "$source" ]; then
    echo "cannot download $module@$version from the Go module proxy" >&2
    return 1
  fi
  rm -rf "$build"
  mkdir -p "$build"
  # The module cache is read-only; the copy must not be, to take the placeholder pages.
  cp -r "$source" "$build/alertmanager"
  chmod -R u+w "$build/alertmanager"
  local page
  for page in elm mantine; do
    mkdir -p "$build/alertmanager/ui/app/dist/$page"
    echo "<!doctype html><title>Alertmanager</title><p>This build has no web UI; use the API or amtool." \
      > "$build/alertmanager/ui/app/dist/$page/index.html"
  done
  mkdir -p "$build/wrapper"
  cp "$wrapper/go.mod" "$wrapper/go.sum" "$build/wrapper/"
  (cd "$build/wrapper" && go mod edit -replace "$module=../alertmanager")
  # The version is stamped as Prometheus's own build (promu) does, so `alertmanager --version` tells it.
  kube_build_tool "$build/wrapper" "$module/cmd/alertmanager" "$dir/alertmanager" \
    "-s -w -X github.com/prometheus/common/version.Version=${version#v}"
  echo "$stamp" > "$dir/alertmanager.stamp"
  rm -rf "$build"
}

ensure_alertmanager_binaries() {
  local repo_root=$1
  local wrapper="$repo_root/scripts/alertmanager"
  local module=github.com/prometheus/alertmanager
  ensure_go "building Alertmanager and amtool for the alerting tests" || return 1
  local dir version
  dir=$(pinned_tool_dir alertmanager "$wrapper/go.mod" "$module") || return 1
  version=$(basename "$dir")
  (
    # One build at a time on this machine: a second test run waits here for the first one's binaries.
    flock 9
    kube_build_tool "$wrapper" "$module/cmd/amtool" "$dir/amtool" \
      "-s -w -X github.com/prometheus/common/version.Version=${version#v}"
    alertmanager_build_server "$wrapper" "$module" "$version" "$dir"
  ) 9>"$dir/.lock"
  export ALERTMANAGER_BIN="$dir/alertmanager"
  export AMTOOL_BIN="$dir/amtool"
}
