#!/usr/bin/env bash
# Makes a Docker engine and the lab images available on a machine with no container registry:
#   lab/debian:bookworm   debootstrap'd Debian, trusting this machine's CA bundle (npm and Maven over HTTPS)
#   lab/node:24           stands in for node:24-bookworm-slim (the base of the project's own images)
#   lab/kafka:<version>   Apache Kafka from Maven Central on Debian's JRE, laid out and started like apache/kafka
#   lab/mariadb           a MySQL-protocol server on port 4000, standing in for TiDB
#   lab/prometheus        Debian's Prometheus, laid out like prom/prometheus
# Idempotent: an image whose recipe has not changed is kept, so a second run takes seconds. Test fixtures only; the Pulumi
# program always uses the official images. Needs root (dockerd, debootstrap).
#
# Each image is also tagged with the hash of its recipe (lab/kafka:3.9.1-<hash>), and that tag is what this
# script prints on stdout, one LAB_<NAME>_IMAGE=<tag> line per image, for the tests to use: several checkouts
# with different recipes may share one engine, and the plain tag names whichever was built last.
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

# A hash of what an image is built from (files, or whole folders: names, modes and contents); images carry
# it as a label, so a changed recipe rebuilds.
recipe_hash() {
  local path file
  for path in "$@"; do
    if [ -d "$path" ]; then
      find "$path" -type f | sort | while read -r file; do
        stat -c '%n %a' "$file"
        cat "$file"
      done
    else
      cat "$path"
    fi
  done | sha256sum | cut -c1-16
}
# <repository>:<tag>-<hash>, or <repository>:<hash> for an untagged name: one tag per recipe.
recipe_tag() {
  local image=$1 hash=$2
  if [[ $image == *:* ]]; then echo "$image-$hash"; else echo "$image:$hash"; fi
}

# True when the recipe's image exists; the plain name is pointed at it again (another checkout may have moved it).
is_current() {
  local image=$1 hash=$2
  has_image "$(recipe_tag "$image" "$hash")" || return 1
  docker tag "$(recipe_tag "$image" "$hash")" "$image"
}

# Builds <context> as <image> under both its names, labelled with the recipe hash.
build_image() {
  local image=$1 hash=$2 context=$3
  docker build -q --label "tidbstack.recipe=$hash" -t "$image" -t "$(recipe_tag "$image" "$hash")" "$context" >/dev/null
}

# The line a test reads: LAB_<NAME>_IMAGE=<the recipe's tag>.
announce() {
  local variable=$1 image=$2 hash=$3
  echo "$variable=$(recipe_tag "$image" "$hash")"
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
  local hash context
  hash=$(recipe_hash scripts/lab/node <(node --version))
  announce LAB_NODE_IMAGE lab/node:24 "$hash"
  is_current lab/node:24 "$hash" && return 0
  context=$(mktemp -d "$cache/node-context.XXXXXX")
  cp -p scripts/lab/node/* "$context/"
  cp "$(command -v node)" "$context/node"
  (cd "$context" && npm pack --silent npm@11 >/dev/null && mkdir npm && tar -xzf npm-*.tgz -C npm --strip-components=1 && rm npm-*.tgz)
  build_image lab/node:24 "$hash" "$context"
  rm -rf "$context"
}

# The jars of the lab Kafka image: the broker and its command-line tools (scripts/lab/kafka/pom.xml), at the
# release the test broker runs (scripts/kafka/pom.xml), resolved once into .cache/lab/kafka-libs.
resolve_lab_kafka_libs() {
  local version=$1 libs="$cache/kafka-libs" stamp
  stamp=$(cat scripts/lab/kafka/pom.xml <(echo "$version") | sha256sum | cut -c1-16)
  [ -f "$libs/.stamp" ] && [ "$(cat "$libs/.stamp")" = "$stamp" ] && return 0
  command -v mvn >/dev/null || ensure_apt_packages maven
  echo "resolving Kafka $version's broker and tools jars from Maven Central" >&2
  rm -rf "$libs"
  mvn -q -B -Dstyle.color=never -f scripts/lab/kafka/pom.xml -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  echo "$stamp" > "$libs/.stamp"
}

build_kafka() {
  local version hash context
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)
  resolve_lab_kafka_libs "$version"
  hash=$(recipe_hash scripts/lab/kafka <(echo "$version"))
  announce LAB_KAFKA_IMAGE "lab/kafka:$version" "$hash"
  is_current "lab/kafka:$version" "$hash" && return 0
  context=$(mktemp -d "$cache/kafka-context.XXXXXX")
  cp -rp scripts/lab/kafka/Dockerfile scripts/lab/kafka/bin scripts/lab/kafka/docker "$context/"
  cp -r "$cache/kafka-libs" "$context/libs"
  rm -f "$context/libs/.stamp"
  build_image "lab/kafka:$version" "$hash" "$context"
  rm -rf "$context"
}

# An image built straight from its folder under scripts/lab.
build_simple() {
  local variable=$1 image=$2 folder=$3 hash
  hash=$(recipe_hash "$folder")
  announce "$variable" "$image" "$hash"
  is_current "$image" "$hash" && return 0
  build_image "$image" "$hash" "$folder"
}

started=$(date +%s)
ensure_docker_engine
build_debian
build_node
build_kafka
build_simple LAB_MARIADB_IMAGE lab/mariadb scripts/lab/mariadb
build_simple LAB_PROMETHEUS_IMAGE lab/prometheus scripts/lab/prometheus
echo "lab images ready in $(( $(date +%s) - started )) s" >&2
