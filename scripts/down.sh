#!/usr/bin/env bash
# `npm run down`: destroys the stack: every container, the network and, unless the stack was configured with
# keepDataOnDestroy=true, the data volumes; then removes the service images the stack built (the Docker
# provider's delete of a built image leaves it in the engine). Pulled upstream images stay for the next
# `npm run up`, and so does BuildKit's build cache (`docker builder prune` clears it). The stack's config
# stays, so `npm run up` brings back the same stack. Extra arguments go to `pulumi destroy`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
# shellcheck source=lib/pulumi.sh
source scripts/lib/pulumi.sh
ensure_node "$root"
use_local_pulumi "$root"
"${PULUMI[@]}" stack select dev
"${PULUMI[@]}" destroy --yes --skip-preview "$@"
stack_name=$("${PULUMI[@]}" config get name 2>/dev/null || echo tidbstack)
built=$(docker image ls --filter "reference=${stack_name}-*:local" --format '{{.Repository}}:{{.Tag}}')
if [ -n "$built" ]; then
  # shellcheck disable=SC2086 # one image reference per word
  docker image rm $built
fi
