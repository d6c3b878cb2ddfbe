#!/usr/bin/env bash
# The test command (`npm test`). Makes sure Node 24, the npm dependencies, MariaDB, Chromium, Kafka's jars, a
# Docker engine, the lab images, etcd, kube-apiserver, Alertmanager, amtool and actionlint are present
# (installing or building what is missing, idempotently), then runs every test under node's test runner with
# a real MariaDB and a real Kafka broker started for the run and stopped afterwards.
#
#   npm test                 unit and integration tests
#   npm test -- --unit       unit tests only: no servers, no installs beyond npm
#   npm test -- <pattern>    only the test files matching the glob(s), with the servers
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
# shellcheck source=lib/system-deps.sh
source scripts/lib/system-deps.sh
# shellcheck source=lib/kube.sh
source scripts/lib/kube.sh
# shellcheck source=lib/alertmanager.sh
source scripts/lib/alertmanager.sh
# shellcheck source=lib/actionlint.sh
source scripts/lib/actionlint.sh
ensure_node "$root"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies" >&2
  npm ci --ignore-scripts --no-audit --no-fund >&2
fi

unit_only=false
patterns=()
for arg in "$@"; do
  case $arg in
    --unit) unit_only=true ;;
    *) patterns+=("$arg") ;;
  esac
done

node_test=(node --conditions=source --test --test-reporter=spec --test-timeout=300000)
if $unit_only; then
  [ ${#patterns[@]} -gt 0 ] || patterns=("*/test/unit/**/*.test.ts")
  exec "${node_test[@]}" "${patterns[@]}"
fi

[ ${#patterns[@]} -gt 0 ] || patterns=("*/test/unit/**/*.test.ts" "*/test/integration/**/*.test.ts")
started=$(date +%s)
ensure_test_dependencies "$root"
# etcd and kube-apiserver for the Kubernetes target's API-server test (exports ETCD_BIN, KUBE_APISERVER_BIN).
ensure_kube_binaries "$root"
# Alertmanager and amtool of the release the stack runs, for the alerting test (exports ALERTMANAGER_BIN,
# AMTOOL_BIN).
ensure_alertmanager_binaries "$root"
# actionlint for the workflow test (exports ACTIONLINT_BIN); shellcheck, which it runs, is a Debian package above.
ensure_actionlint "$root"
# A Docker engine and the lab base images, for the container test; if they cannot be had, the run fails
# here rather than skipping that test. The tests get each image by its recipe's own tag (LAB_*_IMAGE).
lab_images=$(bash scripts/lab/build.sh)
while IFS='=' read -r variable image; do
  export "$variable=$image"
done < <(grep -E '^LAB_[A-Z]+_IMAGE=' <<< "$lab_images")
echo "test dependencies ready in $(( $(date +%s) - started )) s" >&2
exec node --conditions=source testenv/src/run.ts -- "${node_test[@]}" "${patterns[@]}"
