#!/bin/bash
# Writes server.properties from KAFKA_* variables (as the official image does), formats KRaft storage on
# first start, then execs the broker so it receives SIGTERM directly.
set -euo pipefail
config=/opt/kafka/config/server.properties
: > "$config"
while IFS='=' read -r name value; do
  case $name in
    KAFKA_HEAP_OPTS|KAFKA_OPTS) ;;
    KAFKA_*) key=${name#KAFKA_}; key=${key,,}; echo "${key//_/.}=${value}" >> "$config" ;;
  esac
done < <(env)
cat > /opt/kafka/config/log4j.properties <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.server.KafkaRaftServer=INFO
PROPS
# KAFKA_HEAP_OPTS holds several JVM flags ("-Xmx512m -Xms512m"): split it into words on purpose.
read -ra heap_opts <<< "${KAFKA_HEAP_OPTS:--Xmx512m}"
java_opts=("${heap_opts[@]}" -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties -cp '/opt/kafka/libs/*')
log_dir=$(sed -n 's/^log.dirs=//p' "$config")
if [ ! -f "${log_dir:-/var/lib/kafka/data}/meta.properties" ]; then
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "${CLUSTER_ID:?CLUSTER_ID is required}" -c "$config"
fi
exec java "${java_opts[@]}" kafka.Kafka "$config"
