/**
 * The one-off steps that run in the ops image (`node ops/dist/main.js ...`, every setting by environment):
 * their commands and environments, as plain data.
 */
import {
  CHANGEFEED_APPLY_ENV,
  CHANGEFEED_DELETE_ENV,
  dlqTopicOf,
  PD_MAX_REPLICAS_ENV,
  PD_RECONCILE_ENV,
  type EnvName,
} from "@tidbstack/service-kit/contracts";
import { maxReplicasFor, pdClientUrl, pdName, range, sinkUri, tikvStoreAddress } from "./topology.ts";

const OPS = ["node", "ops/dist/main.js"] as const;

/** Creates the topics, then creates, updates in place or resumes the changefeed; waits until normal. */
export const CHANGEFEED_APPLY_COMMAND = [...OPS, "changefeed", "apply"] as const;
/** Deletes the changefeed `CHANGEFEED_ID`; succeeds when it does not exist. */
export const CHANGEFEED_DELETE_COMMAND = [...OPS, "changefeed", "delete"] as const;
/** Brings PD's members, stores and max-replicas to what the environment asks for (see pdReconcileEnvironment). */
export const PD_RECONCILE_COMMAND = [...OPS, "pd", "reconcile"] as const;
/** Sets PD's max-replicas once the wanted stores are Up, touching no member or store (see pdMaxReplicasEnvironment). */
export const PD_MAX_REPLICAS_COMMAND = [...OPS, "pd", "max-replicas"] as const;

export interface ChangefeedSettings {
  /** TiCDC's OpenAPI base URL, e.g. http://ticdc:8300. */
  readonly ticdcUrl: string;
  /** Kafka bootstrap servers TiCDC and the topic creation use, e.g. kafka:19092. */
  readonly kafkaBootstrap: string;
  /** Changefeed id (TiCDC's rule: letters and digits in dash-separated groups). */
  readonly id: string;
  /** The CDC topic; its dead-letter topic is `<topic>.dlq`. */
  readonly topic: string;
  /** Partitions of the topic, and TiCDC's partition-num. */
  readonly partitions: number;
  /** The database whose tables are replicated (`<database>.*`, less the login limiter's table). */
  readonly database: string;
}

/**
 * Environments keyed by the names ops/src/config.ts parses them with (@tidbstack/service-kit/contracts): a
 * renamed variable is a type error here. LOG_LEVEL and the timeouts are left at the steps' defaults.
 */
type StepEnv<C> = Record<Exclude<EnvName<C>, "LOG_LEVEL" | `${string}_TIMEOUT_SECONDS`>, string>;

export function changefeedEnvironment(settings: ChangefeedSettings): StepEnv<typeof CHANGEFEED_APPLY_ENV> {
  return {
    TICDC_URL: settings.ticdcUrl,
    CHANGEFEED_ID: settings.id,
    CHANGEFEED_SINK_URI: sinkUri(settings.topic, settings.partitions, settings.kafkaBootstrap),
    // Every table of the database but the login limiter's (LOGIN_RATE_LIMIT_STORE=database): its rows are
    // per-attempt counters, not application data, and would flood the topic with one event per login.
    CHANGEFEED_FILTER: `${settings.database}.*,!${settings.database}.login_rate_limits`,
    KAFKA_BROKERS: settings.kafkaBootstrap,
    KAFKA_TOPIC: settings.topic,
    KAFKA_DLQ_TOPIC: dlqTopicOf(settings.topic),
    TOPIC_PARTITIONS: String(settings.partitions),
  };
}

/** What `changefeed delete` needs: only where TiCDC is and which changefeed. */
export function changefeedDeleteEnvironment(
  settings: Pick<ChangefeedSettings, "ticdcUrl" | "id">,
): StepEnv<typeof CHANGEFEED_DELETE_ENV> {
  return { TICDC_URL: settings.ticdcUrl, CHANGEFEED_ID: settings.id };
}

export interface ClusterShape {
  /** PD members wanted: 1, 3 or 5. */
  readonly pdCount: number;
  /** TiKV stores wanted. */
  readonly tikvCount: number;
}

/**
 * The PD reconcile step's settings for a cluster shape. It asks PD at `PD_URL`, the index-0 PD, which a
 * scale-in never removes; wanted members and stores are named as the program names them.
 */
export function pdReconcileEnvironment(shape: ClusterShape): StepEnv<typeof PD_RECONCILE_ENV> {
  return {
    PD_URL: pdClientUrl(0),
    PD_MEMBERS: range(shape.pdCount).map(pdName).join(","),
    TIKV_STORES: range(shape.tikvCount).map(tikvStoreAddress).join(","),
    PD_MAX_REPLICAS: String(maxReplicasFor(shape.tikvCount)),
  };
}

export interface PdMaxReplicasSettings {
  /** PD's client URL. */
  readonly pdUrl: string;
  /** The advertised address of every TiKV store the cluster is meant to have. */
  readonly stores: readonly string[];
}

/**
 * The max-replicas step's settings, for a cluster whose members and stores an operator manages: the
 * replica count follows the number of stores as on Docker (maxReplicasFor).
 */
export function pdMaxReplicasEnvironment(
  settings: PdMaxReplicasSettings,
): StepEnv<typeof PD_MAX_REPLICAS_ENV> {
  return {
    PD_URL: settings.pdUrl,
    TIKV_STORES: settings.stores.join(","),
    PD_MAX_REPLICAS: String(maxReplicasFor(settings.stores.length)),
  };
}
