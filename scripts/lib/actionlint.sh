# shellcheck shell=bash
# Builds actionlint, the checker the workflow tests run over .github/workflows/, from the Go module proxy,
# pinned by the wrapper module scripts/actionlint/. Source this file and call
#   ensure_actionlint <repo root>
# which exports ACTIONLINT_BIN.
#
# Like etcd and kube-apiserver (scripts/lib/kube.sh, whose builder this reuses), the binary goes to a
# machine-wide cache, ${XDG_CACHE_HOME:-$HOME/.cache}/tidbstack/actionlint/<version>/, so a fresh clone does
# not rebuild it, with a stamp of the wrapper's go.mod and go.sum and a lock against two concurrent builds.

# shellcheck source=kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"

ensure_actionlint() {
  local repo_root=$1
  local wrapper="$repo_root/scripts/actionlint"
  ensure_go "building actionlint for the workflow tests" || return 1
  local dir
  dir=$(pinned_tool_dir actionlint "$wrapper/go.mod" github.com/rhysd/actionlint) || return 1
  (
    flock 9
    kube_build_tool "$wrapper" github.com/rhysd/actionlint/cmd/actionlint "$dir/actionlint" "-s -w"
  ) 9>"$dir/.lock"
  export ACTIONLINT_BIN="$dir/actionlint"
}
