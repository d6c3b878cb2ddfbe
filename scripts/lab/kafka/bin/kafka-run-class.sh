#!/bin/bash
# Runs one of Kafka's main classes with the JVM settings the distribution's bin/kafka-run-class.sh uses,
# read from the same environment variables: KAFKA_HEAP_OPTS (default -Xmx256M), KAFKA_JVM_PERFORMANCE_OPTS,
# KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS, KAFKA_LOG4J_OPTS (default: the tools' log4j settings, on stderr),
# KAFKA_OPTS. As there, a `docker exec` tool inherits the broker's environment, heap included.
#   kafka-run-class.sh [-name <daemon name>] [-loggc] <main class> [arguments]
# The options variables hold several JVM flags each: they are split into words on purpose.
set -o nounset -o errexit
base_dir=$(cd "$(dirname "$0")/.." && pwd)
log_dir=${LOG_DIR:-$base_dir/logs}

daemon_name="" gc_log=false
while [ $# -gt 0 ]; do
  case $1 in
    -name) daemon_name=$2; shift 2 ;;
    -loggc) gc_log=true; shift ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [-name <daemon name>] [-loggc] <main class> [arguments]" >&2; exit 1; }

log4j_opts=${KAFKA_LOG4J_OPTS:-}
if [ -z "$log4j_opts" ]; then
  log4j_opts="-Dlog4j.configuration=file:$base_dir/config/tools-log4j.properties"
else
  mkdir -p "$log_dir"
fi
gc_opts=${KAFKA_GC_LOG_OPTS:-}
if $gc_log && [ -z "$gc_opts" ]; then
  gc_opts="-Xlog:gc*:file=$log_dir/$daemon_name-gc.log:time,tags:filecount=10,filesize=100M"
fi
heap_opts=${KAFKA_HEAP_OPTS:--Xmx256M}
performance_opts=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
jmx_opts=${KAFKA_JMX_OPTS:--Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false}
if [ -n "${JMX_PORT:-}" ]; then
  jmx_opts="$jmx_opts -Dcom.sun.management.jmxremote.port=$JMX_PORT -Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT"
fi

# shellcheck disable=SC2086
exec java $heap_opts $performance_opts $gc_opts $jmx_opts "-Dkafka.logs.dir=$log_dir" $log4j_opts \
  -cp "$base_dir/libs/*" ${KAFKA_OPTS:-} "$@"
