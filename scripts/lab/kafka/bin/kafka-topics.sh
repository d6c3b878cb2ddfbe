#!/bin/bash
# Lists, creates, describes and alters topics (the program's Kafka healthcheck runs --list).
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@"
