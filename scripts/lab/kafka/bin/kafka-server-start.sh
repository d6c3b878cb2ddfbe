#!/bin/bash
# Starts the broker in the foreground: kafka-server-start.sh <server.properties> [--override key=value]...
# Defaults as in the distribution: the server's log4j settings and a 1 GiB heap unless KAFKA_HEAP_OPTS is set.
set -o nounset -o errexit
base_dir=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 server.properties [--override property=value]*" >&2; exit 1; }
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$base_dir/config/log4j.properties}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
exec "$base_dir/bin/kafka-run-class.sh" -name kafkaServer -loggc kafka.Kafka "$@"
