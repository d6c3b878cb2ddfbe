/**
 * Every rule that crosses a process boundary, written once: the environment each process reads (names,
 * defaults, bounds), the ports its servers listen on, and the names derived from the CDC topic. The Pulumi
 * program builds each process's environment keyed by these names and validates its config with these
 * bounds; each process parses its environment with these same definitions (EnvReader.read). A renamed
 * variable is then a type error on both sides, and a changed default or bound changes both.
 *
 * No imports, on purpose: the Pulumi program loads this module (`@tidbstack/service-kit/contracts`)
 * without the services' runtime dependencies.
 */

/** A value that must match a pattern, and the words an error uses for it. */
export interface ValueRule {
  readonly pattern: RegExp;
  readonly what: string;
}

// ---------------------------------------------------------------------------------------------------------
// Names derived from the CDC topic

/** Kafka's longest topic name. */
const TOPIC_NAME_MAX_LENGTH = 249;

/**
 * Kafka's rule for topic names (clients/src/main/java/org/apache/kafka/common/internals/Topic.java,
 * `detectInvalidTopic`): 1-249 ASCII letters, digits, '.', '_' and '-', and neither "." nor "..".
 */
export const TOPIC_NAME: ValueRule = {
  pattern: new RegExp(`^(?!\\.\\.?$)[A-Za-z0-9._-]{1,${TOPIC_NAME_MAX_LENGTH}}$`),
  what: `a Kafka topic name (1-${TOPIC_NAME_MAX_LENGTH} letters, digits, '.', '_' or '-', not "." or "..")`,
};

/** Why `name` is not a valid Kafka topic name, or undefined when it is. */
export function topicNameProblem(name: string): string | undefined {
  return TOPIC_NAME.pattern.test(name) ? undefined : `must be ${TOPIC_NAME.what}, got "${name}"`;
}

const DLQ_SUFFIX = ".dlq";

/** The dead-letter topic of a CDC topic: where the consumer copies what it cannot process. */
export const dlqTopicOf = (topic: string): string => `${topic}${DLQ_SUFFIX}`;

/** The consumer group that reads a CDC topic, unless one is configured. */
export const consumerGroupOf = (topic: string): string => `${topic}-consumer`;

/**
 * Why `topic` cannot be the CDC topic, or undefined when it can: it must be a topic name, and so must the
 * dead-letter topic derived from it, so it is at most 245 characters.
 */
export function cdcTopicProblem(topic: string): string | undefined {
  const problem = topicNameProblem(topic);
  if (problem !== undefined) return problem;
  const longest = TOPIC_NAME_MAX_LENGTH - DLQ_SUFFIX.length;
  return topic.length <= longest
    ? undefined
    : `must leave room for its dead-letter topic "${dlqTopicOf(topic)}": at most ${longest} characters, got ${topic.length}`;
}

/**
 * Consumer group ids: the characters Kafka allows in topic names, so a group id is safe in a metric label
 * and on a command line (Kafka itself takes any string).
 */
export const CONSUMER_GROUP: ValueRule = {
  pattern: /^[A-Za-z0-9._-]+$/,
  what: "a consumer group id (letters, digits, '.', '_' or '-')",
};

// ---------------------------------------------------------------------------------------------------------
// Ports and shared value rules

/**
 * Where each service listens: the API's HTTP port, and each service's /metrics and /health, on a port of its
 * own that is never published (only Prometheus, in the stack's network, reads it).
 */
export const SERVICE_PORTS = {
  api: 3000,
  consumerMetrics: 9464,
  purgeMetrics: 9465,
  apiMetrics: 9466,
} as const;

/** TiDB's MySQL protocol port: the database port a service assumes when none is given. */
export const TIDB_SQL_PORT = 4000;

/** An email address, loosely: something@somewhere with no spaces. */
export const EMAIL: ValueRule = { pattern: /^[^\s@]+@[^\s@]+$/, what: "an email address" };

/** A plain SQL identifier (database or user name), safe to splice into DDL. */
export const SQL_IDENTIFIER: ValueRule = {
  pattern: /^[A-Za-z0-9_]{1,64}$/,
  what: "1-64 letters, digits or underscores",
};

/** TiCDC's rule for changefeed ids (cdc/model/changefeed.go changeFeedIDRe). */
export const CHANGEFEED_ID: ValueRule = {
  pattern: /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/,
  what: "letters and digits in dash-separated groups",
};

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const HTTP_URL: ValueRule = { pattern: /^https?:\/\/[^\s/?#]+\/?$/, what: "an http(s) URL with no path" };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "off"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const RATE_LIMIT_STORES = ["memory", "database"] as const;
/** Where the API keeps the login limit: per process, or one row per client in the database for every replica. */
export type RateLimitStore = (typeof RATE_LIMIT_STORES)[number];

// ---------------------------------------------------------------------------------------------------------
// Environment variables

/** Text, trimmed; blank counts as unset. Required unless it has a default. */
export interface TextVar<N extends string = string> {
  readonly kind: "text";
  readonly name: N;
  readonly default?: string;
  readonly rule?: ValueRule;
}

/** A password: taken as is, spaces included. Required unless it has a default (which may be ""). */
export interface SecretVar<N extends string = string> {
  readonly kind: "secret";
  readonly name: N;
  readonly default?: string;
}

/** A whole number within [min, max]. Required unless it has a default. */
export interface IntegerVar<N extends string = string> {
  readonly kind: "integer";
  readonly name: N;
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

/** true/1/yes or false/0/no, any case. */
export interface FlagVar<N extends string = string> {
  readonly kind: "flag";
  readonly name: N;
  readonly default: boolean;
}

/** The most proxies a request may pass through before the API; more is a configuration mistake. */
export const MAX_PROXY_HOPS = 10;

/**
 * Which proxies in front of a server to believe about the client's address (Express's "trust proxy"):
 * false/0/no (none; the socket's peer is the client), a number of hops 1 to MAX_PROXY_HOPS (the address
 * that many proxies back in X-Forwarded-For, which a client cannot forge when each proxy appends to the
 * header), or true/yes (every proxy: the left-most address, which a client can set itself unless the first
 * proxy replaces the header).
 */
export interface ProxyTrustVar<N extends string = string> {
  readonly kind: "proxyTrust";
  readonly name: N;
  readonly default: false;
}

/** One of a fixed set of words, exactly as listed. */
export interface ChoiceVar<N extends string = string, V extends string = string> {
  readonly kind: "choice";
  readonly name: N;
  readonly values: readonly V[];
  readonly default: V;
}

/** A log4js level, any case. */
export interface LogLevelVar<N extends string = string> {
  readonly kind: "logLevel";
  readonly name: N;
  readonly default: LogLevel;
}

/** A comma-separated list of items matching `item`; blanks around items ignored; at least one item. */
export interface ListVar<N extends string = string> {
  readonly kind: "list";
  readonly name: N;
  readonly item: RegExp;
  /** What the items are, for an error message. */
  readonly what: string;
  readonly default?: string;
  /** Refuse an item listed twice. */
  readonly unique: boolean;
}

/** An address to listen on (an IP literal or a host name); unset means every interface. */
export interface ListenHostVar<N extends string = string> {
  readonly kind: "listenHost";
  readonly name: N;
}

export type EnvVar<N extends string = string> =
  | TextVar<N>
  | SecretVar<N>
  | IntegerVar<N>
  | FlagVar<N>
  | ProxyTrustVar<N>
  | ChoiceVar<N>
  | LogLevelVar<N>
  | ListVar<N>
  | ListenHostVar<N>;

/** What reading a variable yields. */
export type EnvValue<V extends EnvVar> = V extends IntegerVar
  ? number
  : V extends FlagVar
    ? boolean
    : V extends ProxyTrustVar
      ? boolean | number
      : V extends ChoiceVar<string, infer C>
        ? C
        : V extends LogLevelVar
          ? LogLevel
          : V extends ListVar
            ? string[]
            : V extends ListenHostVar
              ? string | undefined
              : string;

/** A process's environment contract: each variable under its own name. */
export type EnvContract<V extends EnvVar> = { readonly [S in V as S["name"]]: S };

/** Gathers variable definitions into a contract keyed by their names, so each name is written once. */
function contract<const V extends readonly EnvVar[]>(...vars: V): EnvContract<V[number]> {
  return Object.fromEntries(vars.map((v) => [v.name, v])) as EnvContract<V[number]>;
}

type TextOptions = Omit<TextVar, "kind" | "name">;
const text = <const N extends string, const O extends TextOptions = TextOptions>(
  name: N,
  options?: O,
): TextVar<N> & O => ({ kind: "text", name, ...(options as O) });
const secret = <const N extends string>(name: N, fallback?: string): SecretVar<N> =>
  fallback === undefined ? { kind: "secret", name } : { kind: "secret", name, default: fallback };
type Range = { readonly min: number; readonly max: number };
const integer = <const N extends string>(
  name: N,
  fallback: number,
  range: Range,
): IntegerVar<N> & { readonly default: number } => ({ kind: "integer", name, default: fallback, ...range });
const requiredInteger = <const N extends string>(name: N, range: Range): IntegerVar<N> => ({
  kind: "integer",
  name,
  ...range,
});
const port = <const N extends string>(name: N, fallback: number) =>
  integer(name, fallback, { min: 1, max: 65535 });
const flag = <const N extends string>(name: N, fallback: boolean): FlagVar<N> => ({
  kind: "flag",
  name,
  default: fallback,
});
const logLevel = <const N extends string>(name: N): LogLevelVar<N> => ({
  kind: "logLevel",
  name,
  default: "info",
});
const list = <const N extends string>(
  name: N,
  item: RegExp,
  what: string,
  options: { readonly default?: string; readonly unique: boolean },
): ListVar<N> => ({ kind: "list", name, item, what, ...options });

const DAY = 24 * 3600;

/** The database connection: the API, the token purge and the migration read it alike. */
export const DB_ENV = contract(
  text("DB_HOST", { default: "127.0.0.1" }),
  port("DB_PORT", TIDB_SQL_PORT),
  text("DB_USER"),
  // Empty: a new TiDB cluster's root password, which the migration replaces.
  secret("DB_PASSWORD", ""),
  text("DB_NAME", { default: "appdb", rule: SQL_IDENTIFIER }),
);

/** The API server (api/src/config.ts). */
export const API_ENV = {
  ...DB_ENV,
  ...contract(
    port("PORT", SERVICE_PORTS.api),
    port("METRICS_PORT", SERVICE_PORTS.apiMetrics),
    { kind: "listenHost", name: "HOST" },
    integer("TOKEN_TTL_SECONDS", 3600, { min: 60, max: 30 * DAY }),
    integer("LOGIN_RATE_LIMIT_PER_MINUTE", 10, { min: 1, max: 1_000_000 }),
    { kind: "choice", name: "LOGIN_RATE_LIMIT_STORE", values: RATE_LIMIT_STORES, default: "memory" },
    { kind: "proxyTrust", name: "TRUST_PROXY", default: false },
    // The /me token cache (api/src/sessions.ts); 0 entries, 0 MiB or a max age of 0 turns it off.
    integer("TOKEN_CACHE_MAX_ENTRIES", 100_000, { min: 0, max: 10_000_000 }),
    integer("TOKEN_CACHE_MAX_MIB", 32, { min: 0, max: 4096 }),
    integer("TOKEN_CACHE_MAX_AGE_SECONDS", 60, { min: 0, max: DAY }),
    integer("TOKEN_CACHE_REVOCATION_BOUND_MS", 1000, { min: 100, max: 60_000 }),
    logLevel("LOG_LEVEL"),
  ),
} as const;

/** The token purge (api/src/purge-config.ts). */
export const PURGE_ENV = {
  ...DB_ENV,
  ...contract(
    integer("PURGE_INTERVAL_SECONDS", 300, { min: 1, max: 7 * DAY }),
    integer("PURGE_GRACE_SECONDS", DAY, { min: 0, max: 365 * DAY }),
    // TiDB keeps a transaction in memory until it commits: a batch stays far below its limits.
    integer("PURGE_BATCH_SIZE", 1000, { min: 1, max: 10_000 }),
    port("METRICS_PORT", SERVICE_PORTS.purgeMetrics),
    logLevel("LOG_LEVEL"),
  ),
} as const;

/** The migration command (api/src/migrate-config.ts): DB_* is the administrative account it runs as. */
export const MIGRATION_ENV = {
  ...DB_ENV,
  ...contract(
    text("ADMIN_EMAIL", { rule: EMAIL }),
    secret("ADMIN_PASSWORD"),
    text("APP_DB_USER", { rule: SQL_IDENTIFIER }),
    secret("APP_DB_PASSWORD"),
    text("PURGE_DB_USER", { rule: SQL_IDENTIFIER }),
    secret("PURGE_DB_PASSWORD"),
    flag("DB_BOOTSTRAP_EMPTY_PASSWORD", false),
    logLevel("LOG_LEVEL"),
  ),
} as const;

/** The consumer (consumer/src/config.ts). KAFKA_DLQ_TOPIC and KAFKA_GROUP_ID default to the topic's. */
export const CONSUMER_ENV = contract(
  list("KAFKA_BROKERS", HOST_PORT, "host:port", { default: "localhost:9092", unique: false }),
  text("KAFKA_TOPIC", { default: "appdb-cdc", rule: TOPIC_NAME }),
  text("KAFKA_GROUP_ID", { rule: CONSUMER_GROUP }),
  text("KAFKA_DLQ_TOPIC", { rule: TOPIC_NAME }),
  flag("KAFKA_FROM_BEGINNING", true),
  port("METRICS_PORT", SERVICE_PORTS.consumerMetrics),
  { kind: "listenHost", name: "HOST" },
  logLevel("LOG_LEVEL"),
);

/** `changefeed delete` (ops/src/config.ts). */
export const CHANGEFEED_DELETE_ENV = contract(
  text("TICDC_URL", { rule: { ...HTTP_URL, what: `${HTTP_URL.what}, e.g. http://ticdc:8300` } }),
  text("CHANGEFEED_ID", { rule: CHANGEFEED_ID }),
  logLevel("LOG_LEVEL"),
);

/** `changefeed apply` (ops/src/config.ts): the topics it creates and the changefeed it writes them with. */
export const CHANGEFEED_APPLY_ENV = {
  ...CHANGEFEED_DELETE_ENV,
  ...contract(
    text("CHANGEFEED_SINK_URI"),
    list("CHANGEFEED_FILTER", /^\S+$/, "table filter rules such as appdb.*", { unique: true }),
    list("KAFKA_BROKERS", HOST_PORT, "host:port", { unique: true }),
    text("KAFKA_TOPIC", { rule: TOPIC_NAME }),
    text("KAFKA_DLQ_TOPIC", { rule: TOPIC_NAME }),
    requiredInteger("TOPIC_PARTITIONS", { min: 1, max: 64 }),
    integer("CHANGEFEED_TIMEOUT_SECONDS", 120, { min: 1, max: 3600 }),
  ),
} as const;

/** `pd reconcile` (ops/src/config.ts). */
export const PD_RECONCILE_ENV = contract(
  text("PD_URL", { rule: { ...HTTP_URL, what: `${HTTP_URL.what}, e.g. http://pd:2379` } }),
  // PD member names: what --name accepts in this stack (container aliases).
  list("PD_MEMBERS", /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "PD member names", { unique: true }),
  list("TIKV_STORES", HOST_PORT, "TiKV advertised addresses (host:port)", { unique: true }),
  requiredInteger("PD_MAX_REPLICAS", { min: 1, max: 5 }),
  integer("PD_TIMEOUT_SECONDS", 1800, { min: 1, max: 86_400 }),
  logLevel("LOG_LEVEL"),
);

/**
 * `pd max-replicas` (ops/src/config.ts): `pd reconcile`'s variables less PD_MEMBERS, for a cluster whose
 * members and stores an operator manages.
 */
export const PD_MAX_REPLICAS_ENV = contract(
  PD_RECONCILE_ENV.PD_URL,
  PD_RECONCILE_ENV.TIKV_STORES,
  PD_RECONCILE_ENV.PD_MAX_REPLICAS,
  PD_RECONCILE_ENV.PD_TIMEOUT_SECONDS,
  PD_RECONCILE_ENV.LOG_LEVEL,
);

/** The names of a contract's variables. */
export type EnvName<C> = keyof C & string;
