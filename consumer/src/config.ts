import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import { CONSUMER_ENV, consumerGroupOf, dlqTopicOf } from "@tidbstack/service-kit/contracts";

/** Everything the consumer reads from its environment, validated once at start-up. */
export interface ConsumerConfig {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly dlqTopic: string;
  /** Where a consumer group with no committed offset starts: the earliest offset (true) or the latest. */
  readonly fromBeginning: boolean;
  readonly metricsPort: number;
  /** The address the metrics server listens on (HOST); absent: every interface. */
  readonly host?: string;
  readonly logLevel: LogLevel;
}

/**
 * Reads the consumer's environment: the contract CONSUMER_ENV, shared with the Pulumi program. The
 * dead-letter topic and the group default to the ones the contract derives from the topic.
 */
export function loadConsumerConfig(env: Env): ConsumerConfig {
  const reader = new EnvReader(env);
  const brokers = reader.read(CONSUMER_ENV.KAFKA_BROKERS);
  const topic = reader.read(CONSUMER_ENV.KAFKA_TOPIC);
  const dlqTopic = reader.read(CONSUMER_ENV.KAFKA_DLQ_TOPIC, dlqTopicOf(topic));
  if (dlqTopic === topic) throw reader.error(CONSUMER_ENV.KAFKA_DLQ_TOPIC, "must differ from KAFKA_TOPIC");
  const host = reader.read(CONSUMER_ENV.HOST);
  return {
    brokers,
    topic,
    groupId: reader.read(CONSUMER_ENV.KAFKA_GROUP_ID, consumerGroupOf(topic)),
    dlqTopic,
    fromBeginning: reader.read(CONSUMER_ENV.KAFKA_FROM_BEGINNING),
    metricsPort: reader.read(CONSUMER_ENV.METRICS_PORT),
    ...(host === undefined ? {} : { host }),
    logLevel: reader.read(CONSUMER_ENV.LOG_LEVEL),
  };
}
