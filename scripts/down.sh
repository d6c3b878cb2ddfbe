#!/usr/bin/env bash
# `npm run down`: destroys the stack: every container, the network and, unless the stack was configured with
# keepDataOnDestroy=true, the data volumes; then removes every service image the stack built (the Docker
# provider's delete of a built image leaves it in the engine): the current `<name>-*:local` tags and every
# earlier build they replaced, which an `up` after a code change leaves untagged. The program labels each
# build with the stack's name (io.tidbstack.stack, see the Dockerfile), so another stack's images and
# images built by hand stay. Pulled upstream images stay for the next `npm run up`, and so does BuildKit's
# build cache (`docker builder prune` clears it). The stack's config stays, so `npm run up` brings back the
# same stack. Extra arguments go to `pulumi destroy`.
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
# Tags first (an id under several tags cannot be removed by id), then every build left with the label.
tagged=$(docker image ls --filter "label=io.tidbstack.stack=${stack_name}" --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' || true)
if [ -n "$tagged" ]; then
  # shellcheck disable=SC2086 # one image reference per word
  docker image rm $tagged
fi
built=$(docker image ls --quiet --no-trunc --filter "label=io.tidbstack.stack=${stack_name}" | sort -u)
if [ -n "$built" ]; then
  # shellcheck disable=SC2086 # one image id per word
  docker image rm $built
fi
