#!/usr/bin/env bash
# `npm run up`: brings the whole stack up on this machine's Docker engine and prints the API's URL.
# Needs Node.js 24 and Docker; the first run pulls the images and takes a few minutes. Extra arguments go
# to `pulumi up` (e.g. `npm run up -- --diff`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
# shellcheck source=lib/pulumi.sh
source scripts/lib/pulumi.sh
ensure_node "$root"

if ! docker info >/dev/null 2>&1; then
  echo "no Docker engine answers (docker info failed): start Docker and run again" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

use_local_pulumi "$root"
"${PULUMI[@]}" stack select dev --create
# The seed's documented credentials, so the README's curl examples work; change it for anything shared.
ensure_secret adminPassword temp-password
ensure_secret tidbRootPassword "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))')"
ensure_secret apiDbPassword "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))')"
ensure_secret purgeDbPassword "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))')"
ensure_secret grafanaAdminPassword "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))')"

# What would make this run fail late (engine version, memory, disk, ports, open files), checked first.
if [ "${TIDBSTACK_SKIP_PREFLIGHT:-}" != "1" ]; then
  node --conditions=source scripts/preflight.ts
fi

"${PULUMI[@]}" up --yes --skip-preview "$@"
echo
echo "API:     $("${PULUMI[@]}" stack output apiUrl)"
if access=$("${PULUMI[@]}" stack output apiAccess 2>/dev/null); then
  echo "Reach it: $access"
else
  echo "Grafana: $("${PULUMI[@]}" stack output grafanaUrl 2>/dev/null || echo "off (monitoring=false)")"
  echo "Alerts:  $("${PULUMI[@]}" stack output alertmanagerUrl 2>/dev/null || echo "off (monitoring=false)")"
fi
# Alerts with nowhere to go reach nobody: say so, and how to give them somewhere.
receivers=0
for key in alertWebhookUrl alertSlackWebhookUrl alertEmailTo; do
  if "${PULUMI[@]}" config get "$key" >/dev/null 2>&1; then receivers=$((receivers + 1)); fi
done
if [ "$receivers" -eq 0 ]; then
  cat <<'EOF'

No alert receiver is configured: alerts collect in Alertmanager's UI and nobody is told. Add one, then
run `npm run up` again:
  node_modules/.bin/pulumi config set --secret alertWebhookUrl <URL that takes Alertmanager's JSON>
  node_modules/.bin/pulumi config set --secret alertSlackWebhookUrl <Slack incoming-webhook URL>
  (or e-mail: alertEmailTo, alertEmailFrom, alertEmailSmarthost; see README "Alerting")
EOF
fi
