# One image recipe for every Node workspace that runs in a container (the API, the consumer, the ops CLI).
# Build from the repository root, naming the workspace:
#   docker build --build-arg WORKSPACE=api -t tidbstack-api .
# The image runs `node <workspace>/dist/main.js`; other entry points of the same workspace run as commands,
# e.g. `docker run --rm tidbstack-api node api/dist/migrate.js`. No workspace is named below: a new one
# needs a src/main.ts, a tsconfig.build.json and its folders in .dockerignore, no edit here.
#
# No HEALTHCHECK: the Pulumi program gives every container it runs its own healthcheck, and the same image
# also runs one-off commands (the migration, the ops CLI) that serve nothing a probe could ask.
ARG BASE_IMAGE=node:24-bookworm-slim

# Only the npm manifests, so the dependency layers below are rebuilt when a manifest or the lock file
# changes, not when a source file does (COPY --from is cached by the content it copies).
FROM ${BASE_IMAGE} AS manifests
WORKDIR /src
COPY . .
# npm ci skips a workspace whose folder is missing without a word; say which, and where to let it in.
RUN node -e 'const missing = require("./package.json").workspaces.filter((w) => !require("fs").existsSync(`${w}/package.json`)); \
      if (missing.length > 0) { console.error(`workspaces missing from the build context: ${missing.join(", ")} (see .dockerignore)`); process.exit(1); }' \
 && find /src -type f ! -name package.json ! -name package-lock.json -delete \
 && find /src -depth -type d -empty -delete

# Compiles the workspace and the workspaces it depends on (e.g. service-kit) to JavaScript in /out.
FROM ${BASE_IMAGE} AS build
ARG WORKSPACE
WORKDIR /app
COPY --from=manifests /src/ ./
RUN set -e; \
    if [ ! -f "${WORKSPACE:?set --build-arg WORKSPACE=<the folder of the workspace to package>}/package.json" ]; then \
      echo "no workspace $WORKSPACE in the build context (see .dockerignore)" >&2; exit 1; \
    fi; \
    npm ci -w "$WORKSPACE" --include-workspace-root --ignore-scripts --no-audit --no-fund
COPY . .
# The workspace and every workspace it depends on at run time, transitively, from their manifests'
# `dependencies` (not `devDependencies`: testenv serves the tests only and is not in the context). /out
# also gets main.js, the default command's entry point: a link to <workspace>/dist/main.js, which node
# resolves, so the module runs from its own folder (exec form cannot expand a build argument).
RUN set -e; \
    workspaces=$(node -e 'const manifest = (w) => require(`./${w}/package.json`); \
      const byName = new Map(require("./package.json").workspaces.map((w) => [manifest(w).name, w])); \
      const found = new Set(); \
      const visit = (w) => { if (found.has(w)) return; found.add(w); \
        for (const dep of Object.keys(manifest(w).dependencies ?? {})) if (byName.has(dep)) visit(byName.get(dep)); }; \
      visit(process.argv[1]); console.log([...found].join(" "));' "$WORKSPACE"); \
    for ws in $workspaces; do \
      test -f "$ws/tsconfig.build.json" || { echo "workspace $ws has no tsconfig.build.json to compile it with" >&2; exit 1; }; \
      npx tsc -p "$ws/tsconfig.build.json"; \
      mkdir -p "/out/$ws" && cp -r "$ws/dist" "/out/$ws/dist"; \
    done; \
    test -f "/out/$WORKSPACE/dist/main.js" || { echo "$WORKSPACE has no src/main.ts to run" >&2; exit 1; }; \
    ln -s "$WORKSPACE/dist/main.js" /out/main.js

# The workspace's production dependencies only (npm's download cache stays in this stage).
FROM ${BASE_IMAGE} AS production-dependencies
ARG WORKSPACE
WORKDIR /app
COPY --from=manifests /src/ ./
RUN npm ci -w "$WORKSPACE" --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE_IMAGE}
ARG WORKSPACE
# STACK_NAME: the Pulumi stack's `name` when the program builds the image, so `npm run down` finds every
# image that stack built, superseded (untagged) builds included, and no other stack's.
ARG STACK_NAME=""
LABEL org.opencontainers.image.title="tidbstack-${WORKSPACE}" io.tidbstack.stack="${STACK_NAME}"
# Process warnings are logged as JSON by the services themselves; Node's plain-text copy on stderr is off.
ENV NODE_ENV=production NODE_NO_WARNINGS=1
WORKDIR /app
COPY --from=production-dependencies /app/ ./
COPY --from=build /out/ ./
# Everything above belongs to root: the process can read its code but not change it.
USER node
# node is PID 1 and handles SIGTERM itself (graceful drain); no npm or shell wrapper, which would not
# forward it. main.js is the link to <workspace>/dist/main.js made in the build stage.
CMD ["node", "main.js"]
