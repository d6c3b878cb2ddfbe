#!/usr/bin/env bash
# `npm run down`: destroys the stack: every container, the network, the images it built and, unless the
# stack was configured with keepDataOnDestroy=true, the data volumes. The stack's config stays, so
# `npm run up` brings back the same stack. Extra arguments go to `pulumi destroy`.
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
