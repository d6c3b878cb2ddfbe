import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";

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

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const BROKER = /^[A-Za-z0-9.-]+:\d{1,5}$/;

export function loadConsumerConfig(env: Env): ConsumerConfig {
  const reader = new EnvReader(env);
  const brokers = reader
    .string("KAFKA_BROKERS", "localhost:9092")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "");
  const badBroker = brokers.find((broker) => !BROKER.test(broker));
  if (brokers.length === 0 || badBroker !== undefined) {
    throw reader.error(
      "KAFKA_BROKERS",
      `must be a comma-separated list of host:port, got "${badBroker ?? ""}"`,
    );
  }
  const topic = reader.matching("KAFKA_TOPIC", TOPIC, "a Kafka topic name", "appdb-cdc");
  const dlqTopic = reader.matching("KAFKA_DLQ_TOPIC", TOPIC, "a Kafka topic name", `${topic}.dlq`);
  if (dlqTopic === topic) throw reader.error("KAFKA_DLQ_TOPIC", "must differ from KAFKA_TOPIC");
  const host = reader.listenHost("HOST");
  return {
    brokers,
    topic,
    groupId: reader.string("KAFKA_GROUP_ID", "appdb-cdc-consumer"),
    dlqTopic,
    fromBeginning: reader.boolean("KAFKA_FROM_BEGINNING", true),
    metricsPort: reader.port("METRICS_PORT", 9464),
    ...(host === undefined ? {} : { host }),
    logLevel: reader.logLevel("LOG_LEVEL", "info"),
  };
}
