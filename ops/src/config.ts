/**
 * What each command reads from its environment, validated before anything is changed: a bad variable is a
 * ConfigError naming it. The Pulumi program sets these; the tables in the README list them.
 */
import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";

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

export interface PdReconcileConfig {
  readonly pdUrl: string;
  readonly members: readonly string[];
  readonly stores: readonly string[];
  readonly maxReplicas: number;
  readonly timeoutMs: number;
  readonly logLevel: LogLevel;
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+\/?$/;
/** TiCDC's rule for changefeed ids (cdc/model/changefeed.go changeFeedIDRe). */
const CHANGEFEED_ID = /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
/** PD member names: what --name accepts in this stack (container aliases). */
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function loadChangefeedDeleteConfig(env: Env): ChangefeedDeleteConfig {
  const reader = new EnvReader(env);
  return {
    ticdcUrl: reader.matching("TICDC_URL", HTTP_URL, "an http(s) URL with no path, e.g. http://ticdc:8300"),
    id: reader.matching("CHANGEFEED_ID", CHANGEFEED_ID, "letters and digits in dash-separated groups"),
    logLevel: reader.logLevel("LOG_LEVEL", "info"),
  };
}

export function loadChangefeedApplyConfig(env: Env): ChangefeedApplyConfig {
  const reader = new EnvReader(env);
  const base = loadChangefeedDeleteConfig(env);
  const topic = reader.matching("KAFKA_TOPIC", TOPIC, "a Kafka topic name");
  const dlqTopic = reader.matching("KAFKA_DLQ_TOPIC", TOPIC, "a Kafka topic name");
  if (dlqTopic === topic) throw reader.error("KAFKA_DLQ_TOPIC", "must differ from KAFKA_TOPIC");
  const partitions = requiredInteger(reader, "TOPIC_PARTITIONS", { min: 1, max: 64 });
  const sinkUri = reader.string("CHANGEFEED_SINK_URI");
  checkSinkUri(reader, sinkUri, topic, partitions);
  const filterRules = list(reader, "CHANGEFEED_FILTER", /^\S+$/, "table filter rules such as appdb.*");
  const brokers = list(reader, "KAFKA_BROKERS", HOST_PORT, "host:port");
  return {
    ...base,
    sinkUri,
    filterRules,
    brokers,
    topic,
    dlqTopic,
    partitions,
    timeoutMs: reader.integer("CHANGEFEED_TIMEOUT_SECONDS", 120, { min: 1, max: 3600 }) * 1000,
  };
}

export function loadPdReconcileConfig(env: Env): PdReconcileConfig {
  const reader = new EnvReader(env);
  const pdUrl = reader.matching("PD_URL", HTTP_URL, "an http(s) URL with no path, e.g. http://pd:2379");
  const members = list(reader, "PD_MEMBERS", MEMBER_NAME, "PD member names");
  const stores = list(reader, "TIKV_STORES", HOST_PORT, "TiKV advertised addresses (host:port)");
  const maxReplicas = requiredInteger(reader, "PD_MAX_REPLICAS", { min: 1, max: 5 });
  if (maxReplicas > stores.length) {
    throw reader.error(
      "PD_MAX_REPLICAS",
      `must not exceed the number of TIKV_STORES (${stores.length}): each replica needs its own store, got ${maxReplicas}`,
    );
  }
  return {
    pdUrl,
    members,
    stores,
    maxReplicas,
    timeoutMs: reader.integer("PD_TIMEOUT_SECONDS", 1800, { min: 1, max: 86_400 }) * 1000,
    logLevel: reader.logLevel("LOG_LEVEL", "info"),
  };
}

/** A comma-separated list: blanks around items ignored, at least one item, no duplicates. */
function list(reader: EnvReader, name: string, item: RegExp, what: string): string[] {
  const items = reader
    .string(name)
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const bad = items.find((part) => !item.test(part));
  if (items.length === 0 || bad !== undefined) {
    throw reader.error(name, `must be a comma-separated list of ${what}, got "${bad ?? ""}"`);
  }
  const duplicate = items.find((part, i) => items.indexOf(part) !== i);
  if (duplicate !== undefined) throw reader.error(name, `lists "${duplicate}" twice`);
  return items;
}

function requiredInteger(reader: EnvReader, name: string, range: { min: number; max: number }): number {
  reader.string(name);
  return reader.integer(name, range.min, range);
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
      "CHANGEFEED_SINK_URI",
      "must be a URI such as kafka://kafka:19092/<topic>?protocol=canal-json",
    );
  }
  if (!url.protocol.startsWith("kafka")) return;
  const sinkTopic = url.pathname.replace(/^\/+|\/+$/g, "");
  if (sinkTopic !== topic) {
    throw reader.error(
      "CHANGEFEED_SINK_URI",
      `must write to KAFKA_TOPIC (${topic}), got topic "${sinkTopic}"`,
    );
  }
  const partitionNum = url.searchParams.get("partition-num");
  if (partitionNum !== null && !(/^\d+$/.test(partitionNum) && Number(partitionNum) <= partitions)) {
    throw reader.error(
      "CHANGEFEED_SINK_URI",
      `partition-num must be a whole number no larger than TOPIC_PARTITIONS (${partitions}), got "${partitionNum}"`,
    );
  }
}
