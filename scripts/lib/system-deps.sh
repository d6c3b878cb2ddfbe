# shellcheck shell=bash
# Installs what the integration tests need from Debian's packages and Maven Central, once; later runs only
# check. Source this file and call ensure_test_dependencies <repo root>.

ensure_apt_packages() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; install them (sudo apt-get install -y ${missing[*]}) and run again" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Resolves Apache Kafka's broker jars from Maven Central into .cache/kafka/libs (Maven's local repository
# caches the downloads). Re-resolves when scripts/kafka/pom.xml changes.
ensure_kafka_libs() {
  local repo_root=$1
  local libs="$repo_root/.cache/kafka/libs"
  local stamp
  stamp=$(sha256sum "$repo_root/scripts/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$libs/.pom-sha256" ] && [ "$(cat "$libs/.pom-sha256")" = "$stamp" ]; then
    return 0
  fi
  command -v mvn >/dev/null || ensure_apt_packages maven
  echo "resolving Kafka's broker jars from Maven Central" >&2
  rm -rf "$libs"
  mvn -q -B -Dstyle.color=never -f "$repo_root/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  echo "$stamp" > "$libs/.pom-sha256"
}

ensure_test_dependencies() {
  local repo_root=$1
  # mariadb-server: the MySQL-protocol database; chromium: the login page's browser test; a JRE for Kafka;
  # docker.io and debootstrap: the engine and base image of the container test; prometheus: promtool;
  # shellcheck: actionlint checks the workflows' run: scripts with it.
  ensure_apt_packages mariadb-server chromium default-jre-headless docker.io debootstrap prometheus shellcheck
  ensure_kafka_libs "$repo_root"
}
