#!/usr/bin/env bash
# Makes a Docker engine and the lab images available on a machine with no container registry:
#   lab/debian:bookworm   debootstrap'd Debian, trusting this machine's CA bundle (npm and Maven over HTTPS)
#   lab/node:24           stands in for node:24-bookworm-slim (the API's and consumer's base image)
#   lab/kafka:<version>   Apache Kafka from Maven Central on Debian's JRE, configured like apache/kafka
#   lab/mariadb           a MySQL-protocol server on port 4000, standing in for TiDB
#   lab/prometheus        Debian's Prometheus, standing in for prom/prometheus
# Idempotent: an image whose recipe has not changed is kept, so a second run takes seconds. Test fixtures only; the Pulumi
# program always uses the official images. Needs root (dockerd, debootstrap).
set -euo pipefail
# The classic builder, explicitly: no buildx here, and saying so silences its deprecation notice.
export DOCKER_BUILDKIT=0
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../lib/node.sh
source scripts/lib/node.sh
# shellcheck source=../lib/system-deps.sh
source scripts/lib/system-deps.sh
ensure_node "$root"
cache="$root/.cache/lab"
mkdir -p "$cache"

ensure_docker_engine() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null || ensure_apt_packages docker.io
  if [ "$(id -u)" -ne 0 ]; then
    echo "no Docker engine answers and starting one needs root: start Docker and run again" >&2
    return 1
  fi
  echo "starting dockerd (log: $cache/dockerd.log)" >&2
  nohup dockerd > "$cache/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "dockerd did not start within 60 s; its log ends with:" >&2
  tail -n 20 "$cache/dockerd.log" >&2
  return 1
}

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# A hash of the files an image is built from; images carry it as a label, so a changed recipe rebuilds.
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }
is_current() {
  local image=$1 hash=$2
  [ "$(docker image inspect --format '{{index .Config.Labels "tidbstack.recipe"}}' "$image" 2>/dev/null)" = "$hash" ]
}

build_debian() {
  has_image lab/debian:bookworm && return 0
  ensure_apt_packages debootstrap
  local rootfs="$cache/rootfs"
  rm -rf "$rootfs"
  echo "debootstrapping Debian bookworm (minbase)" >&2
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  # The same package sources and CA bundle as this machine, so apt, npm and Maven work inside.
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
  cp /etc/apt/apt.conf.d/99artifact-registry "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["/bin/bash"]' - lab/debian:bookworm >/dev/null
  rm -rf "$rootfs"
}

build_node() {
  local hash
  hash=$(recipe_hash scripts/lab/node/Dockerfile <(node --version))
  is_current lab/node:24 "$hash" && return 0
  local context="$cache/node-context"
  rm -rf "$context" && mkdir -p "$context"
  cp scripts/lab/node/Dockerfile "$context/"
  cp "$(command -v node)" "$context/node"
  (cd "$context" && npm pack --silent npm@11 >/dev/null && mkdir npm && tar -xzf npm-*.tgz -C npm --strip-components=1 && rm npm-*.tgz)
  docker build -q --label "tidbstack.recipe=$hash" -t lab/node:24 "$context" >/dev/null
  rm -rf "$context"
}

build_kafka() {
  local version
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)
  ensure_kafka_libs "$root"
  local hash
  hash=$(recipe_hash scripts/lab/kafka/Dockerfile scripts/lab/kafka/entrypoint.sh scripts/kafka/pom.xml)
  is_current "lab/kafka:$version" "$hash" && return 0
  local context="$cache/kafka-context"
  rm -rf "$context" && mkdir -p "$context"
  cp scripts/lab/kafka/Dockerfile scripts/lab/kafka/entrypoint.sh "$context/"
  cp -r "$root/.cache/kafka/libs" "$context/libs"
  docker build -q --label "tidbstack.recipe=$hash" -t "lab/kafka:$version" "$context" >/dev/null
  rm -rf "$context"
}

# An image built straight from its folder under scripts/lab.
build_simple() {
  local image=$1 folder=$2 hash
  hash=$(recipe_hash "$folder"/*)
  is_current "$image" "$hash" && return 0
  docker build -q --label "tidbstack.recipe=$hash" -t "$image" "$folder" >/dev/null
}

started=$(date +%s)
ensure_docker_engine
build_debian
build_node
build_kafka
build_simple lab/mariadb scripts/lab/mariadb
build_simple lab/prometheus scripts/lab/prometheus
echo "lab images ready in $(( $(date +%s) - started )) s" >&2
