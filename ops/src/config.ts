/**
 * What each command reads from its environment, validated before anything is changed: a bad variable is a
 * ConfigError naming it. The Pulumi program sets these, keyed by the same contracts
 * (@tidbstack/service-kit/contracts); the tables in the README list them.
 */
import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import {
  CHANGEFEED_APPLY_ENV,
  CHANGEFEED_DELETE_ENV,
  PD_MAX_REPLICAS_ENV,
  PD_RECONCILE_ENV,
} from "@tidbstack/service-kit/contracts";

export interface ChangefeedDeleteConfig {
  readonly ticdcUrl: string;
  readonly id: string;
  readonly logLevel: LogLevel;
}

export interface ChangefeedApplyConfig extends ChangefeedDeleteConfig {
  readonly sinkUri: string;
  readonly filterRules: readonly string[];
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly dlqTopic: string;
  readonly partitions: number;
  readonly timeoutMs: number;
}

export interface PdMaxReplicasConfig {
  readonly pdUrl: string;
  readonly stores: readonly string[];
  readonly maxReplicas: number;
  readonly timeoutMs: number;
  readonly logLevel: LogLevel;
}

export interface PdReconcileConfig extends PdMaxReplicasConfig {
  readonly members: readonly string[];
}

export function loadChangefeedDeleteConfig(env: Env): ChangefeedDeleteConfig {
  const reader = new EnvReader(env);
  return {
    ticdcUrl: reader.read(CHANGEFEED_DELETE_ENV.TICDC_URL),
    id: reader.read(CHANGEFEED_DELETE_ENV.CHANGEFEED_ID),
    logLevel: reader.read(CHANGEFEED_DELETE_ENV.LOG_LEVEL),
  };
}

export function loadChangefeedApplyConfig(env: Env): ChangefeedApplyConfig {
  const reader = new EnvReader(env);
  const base = loadChangefeedDeleteConfig(env);
  const topic = reader.read(CHANGEFEED_APPLY_ENV.KAFKA_TOPIC);
  const dlqTopic = reader.read(CHANGEFEED_APPLY_ENV.KAFKA_DLQ_TOPIC);
  if (dlqTopic === topic)
    throw reader.error(CHANGEFEED_APPLY_ENV.KAFKA_DLQ_TOPIC, "must differ from KAFKA_TOPIC");
  const partitions = reader.read(CHANGEFEED_APPLY_ENV.TOPIC_PARTITIONS);
  const sinkUri = reader.read(CHANGEFEED_APPLY_ENV.CHANGEFEED_SINK_URI);
  checkSinkUri(reader, sinkUri, topic, partitions);
  const filterRules = reader.read(CHANGEFEED_APPLY_ENV.CHANGEFEED_FILTER);
  const brokers = reader.read(CHANGEFEED_APPLY_ENV.KAFKA_BROKERS);
  return {
    ...base,
    sinkUri,
    filterRules,
    brokers,
    topic,
    dlqTopic,
    partitions,
    timeoutMs: reader.read(CHANGEFEED_APPLY_ENV.CHANGEFEED_TIMEOUT_SECONDS) * 1000,
  };
}

export function loadPdMaxReplicasConfig(env: Env): PdMaxReplicasConfig {
  const reader = new EnvReader(env);
  const pdUrl = reader.read(PD_MAX_REPLICAS_ENV.PD_URL);
  const stores = reader.read(PD_MAX_REPLICAS_ENV.TIKV_STORES);
  const maxReplicas = reader.read(PD_MAX_REPLICAS_ENV.PD_MAX_REPLICAS);
  if (maxReplicas > stores.length) {
    throw reader.error(
      PD_MAX_REPLICAS_ENV.PD_MAX_REPLICAS,
      `must not exceed the number of TIKV_STORES (${stores.length}): each replica needs its own store, got ${maxReplicas}`,
    );
  }
  return {
    pdUrl,
    stores,
    maxReplicas,
    timeoutMs: reader.read(PD_MAX_REPLICAS_ENV.PD_TIMEOUT_SECONDS) * 1000,
    logLevel: reader.read(PD_MAX_REPLICAS_ENV.LOG_LEVEL),
  };
}

export function loadPdReconcileConfig(env: Env): PdReconcileConfig {
  const members = new EnvReader(env).read(PD_RECONCILE_ENV.PD_MEMBERS);
  return { ...loadPdMaxReplicasConfig(env), members };
}

/**
 * The sink must be a URI, and a Kafka sink must write to KAFKA_TOPIC with no more partitions than it has:
 * the step creates that topic, and TiCDC fails on a partition-num above the topic's real partition count.
 */
function checkSinkUri(reader: EnvReader, uri: string, topic: string, partitions: number): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw reader.error(
      CHANGEFEED_APPLY_ENV.CHANGEFEED_SINK_URI,
      "must be a URI such as kafka://kafka:19092/<topic>?protocol=canal-json",
    );
  }
  if (!url.protocol.startsWith("kafka")) return;
  const sinkTopic = url.pathname.replace(/^\/+|\/+$/g, "");
  if (sinkTopic !== topic) {
    throw reader.error(
      CHANGEFEED_APPLY_ENV.CHANGEFEED_SINK_URI,
      `must write to KAFKA_TOPIC (${topic}), got topic "${sinkTopic}"`,
    );
  }
  const partitionNum = url.searchParams.get("partition-num");
  if (partitionNum !== null && !(/^\d+$/.test(partitionNum) && Number(partitionNum) <= partitions)) {
    throw reader.error(
      CHANGEFEED_APPLY_ENV.CHANGEFEED_SINK_URI,
      `partition-num must be a whole number no larger than TOPIC_PARTITIONS (${partitions}), got "${partitionNum}"`,
    );
  }
}
