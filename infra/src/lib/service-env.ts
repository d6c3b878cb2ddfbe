import {
  API_ENV,
  CONSUMER_ENV,
  DB_ENV,
  dlqTopicOf,
  MIGRATION_ENV,
  PURGE_ENV,
  SERVICE_PORTS,
  type EnvName,
  type RateLimitStore,
} from "@tidbstack/service-kit/contracts";
import { KAFKA_BOOTSTRAP, PORTS } from "./topology.ts";

/**
 * The services' environments as the stack gives them, keyed by the names in the services' own contracts
 * (@tidbstack/service-kit/contracts, which api/src/config.ts, api/src/purge-config.ts,
 * api/src/migrate-config.ts and consumer/src/config.ts parse them with): a variable renamed there is a type
 * error here. Pure, so the container test can run the images with exactly these.
 */

/** Some of a contract's names: naming one the contract does not have is a type error. */
type Among<All extends string, Some extends All> = Some;

export const API_PORT = SERVICE_PORTS.api;
export const CONSUMER_METRICS_PORT = SERVICE_PORTS.consumerMetrics;
export const PURGE_METRICS_PORT = SERVICE_PORTS.purgeMetrics;
export const API_METRICS_PORT = SERVICE_PORTS.apiMetrics;
/** The API's own database account; the migration step creates it with least privilege. */
export const API_DB_USER = "api";
/** The token purge's account: SELECT and DELETE on tokens only, created by the migration step. */
export const PURGE_DB_USER = "purge";

/**
 * What the stack gives the API: every variable of its contract but HOST, left unset so the server listens
 * on every interface of its container (Docker and Kubernetes route to the container's own address).
 */
export type ApiEnv<S> = Record<Exclude<ApiEnvName, Among<ApiEnvName, "HOST">>, string | S>;
type ApiEnvName = EnvName<typeof API_ENV>;

/** Where a service's database is and its account's password. */
export interface DbEnvSettings<S> {
  /** The application database. */
  readonly database: string;
  /** Password of the service's own account; `S` is `string` in a test, a secret Output in the program. */
  readonly dbPassword: S;
  /** TiDB's host; default `tidb`, its alias on the stack network. */
  readonly dbHost?: S | string;
  /** TiDB's MySQL port; default 4000. */
  readonly dbPort?: S | string;
}

/** The database connection the API and the token purge read alike (DB_ENV), as the account `user`. */
function dbEnvironment<S>(
  settings: DbEnvSettings<S>,
  user: string,
): Record<EnvName<typeof DB_ENV>, string | S> {
  return {
    DB_HOST: settings.dbHost ?? "tidb",
    DB_PORT: settings.dbPort ?? String(PORTS.tidb),
    DB_USER: user,
    DB_PASSWORD: settings.dbPassword,
    DB_NAME: settings.database,
  };
}

/** The API's /me token cache (api/src/sessions.ts); 0 entries, 0 MiB or a max age of 0 turns it off. */
export interface TokenCacheSettings {
  /** Sessions cached per API process. */
  readonly maxEntries: number;
  /** Memory the cache may take per API process, in MiB. */
  readonly maxMib: number;
  /** Seconds after which a cached session is read from the database again. */
  readonly maxAgeSeconds: number;
  /** Milliseconds within which every API process refuses a revoked token. */
  readonly revocationBoundMs: number;
}

export interface ApiEnvSettings<S> extends DbEnvSettings<S> {
  /** Token lifetime in seconds. */
  readonly tokenTtlSeconds: number;
  /** Login attempts per client IP per minute. */
  readonly loginRateLimitPerMinute: number;
  /** Where that limit is kept; default memory (one API replica). */
  readonly loginRateLimitStore?: RateLimitStore;
  /** log4js level. */
  readonly logLevel: string;
  /** Proxies in front of the API whose X-Forwarded-For entries it believes; default 0 (clients reach it directly). */
  readonly proxyHops?: number;
  /** Default: the API's own defaults (API_ENV). */
  readonly tokenCache?: TokenCacheSettings;
}

export function apiEnvironment<S>(settings: ApiEnvSettings<S>): ApiEnv<S> {
  return {
    PORT: String(API_PORT),
    METRICS_PORT: String(API_METRICS_PORT),
    ...dbEnvironment(settings, API_DB_USER),
    TOKEN_TTL_SECONDS: String(settings.tokenTtlSeconds),
    LOGIN_RATE_LIMIT_PER_MINUTE: String(settings.loginRateLimitPerMinute),
    LOGIN_RATE_LIMIT_STORE: settings.loginRateLimitStore ?? "memory",
    // Without a proxy in front (the Docker target publishes the API's port), X-Forwarded-For is the
    // client's own say and is ignored.
    TRUST_PROXY:
      settings.proxyHops === undefined || settings.proxyHops === 0 ? "false" : String(settings.proxyHops),
    TOKEN_CACHE_MAX_ENTRIES: String(
      settings.tokenCache?.maxEntries ?? API_ENV.TOKEN_CACHE_MAX_ENTRIES.default,
    ),
    TOKEN_CACHE_MAX_MIB: String(settings.tokenCache?.maxMib ?? API_ENV.TOKEN_CACHE_MAX_MIB.default),
    TOKEN_CACHE_MAX_AGE_SECONDS: String(
      settings.tokenCache?.maxAgeSeconds ?? API_ENV.TOKEN_CACHE_MAX_AGE_SECONDS.default,
    ),
    TOKEN_CACHE_REVOCATION_BOUND_MS: String(
      settings.tokenCache?.revocationBoundMs ?? API_ENV.TOKEN_CACHE_REVOCATION_BOUND_MS.default,
    ),
    LOG_LEVEL: settings.logLevel,
  };
}

export interface ConsumerEnvSettings {
  /** The CDC topic; its dead-letter topic derives from it. */
  readonly topic: string;
  /** The consumer group (config `consumerGroup`, by default derived from the topic). */
  readonly groupId: string;
  /** log4js level. */
  readonly logLevel: string;
  /** Kafka bootstrap servers; default the in-network listener. */
  readonly brokers?: string;
}

/** What the stack gives the consumer: every variable of its contract but HOST (as for the API). */
export type ConsumerEnv = Record<Exclude<ConsumerEnvName, Among<ConsumerEnvName, "HOST">>, string>;
type ConsumerEnvName = EnvName<typeof CONSUMER_ENV>;

export function consumerEnvironment(settings: ConsumerEnvSettings): ConsumerEnv {
  return {
    KAFKA_BROKERS: settings.brokers ?? KAFKA_BOOTSTRAP,
    KAFKA_TOPIC: settings.topic,
    KAFKA_GROUP_ID: settings.groupId,
    KAFKA_DLQ_TOPIC: dlqTopicOf(settings.topic),
    KAFKA_FROM_BEGINNING: "true",
    METRICS_PORT: String(CONSUMER_METRICS_PORT),
    LOG_LEVEL: settings.logLevel,
  };
}

/** The token purge inside the API image: a service that purges every interval and serves /metrics. */
export const PURGE_COMMAND = ["node", "api/dist/purge.js"] as const;

export interface PurgeEnvSettings<S> extends DbEnvSettings<S> {
  /** Seconds between two runs. */
  readonly intervalSeconds: number;
  /** Tokens expired or revoked longer ago than this many seconds are deleted. */
  readonly graceSeconds: number;
  /** Rows deleted per batch, each batch its own short transaction. */
  readonly batchSize: number;
  /** log4js level. */
  readonly logLevel: string;
}

/** What the stack gives the token purge: its whole contract. */
export type PurgeEnv<S> = Record<EnvName<typeof PURGE_ENV>, string | S>;

/** The token purge's environment: the contract in api/src/purge-config.ts. */
export function purgeEnvironment<S>(settings: PurgeEnvSettings<S>): PurgeEnv<S> {
  return {
    ...dbEnvironment(settings, PURGE_DB_USER),
    PURGE_INTERVAL_SECONDS: String(settings.intervalSeconds),
    PURGE_GRACE_SECONDS: String(settings.graceSeconds),
    PURGE_BATCH_SIZE: String(settings.batchSize),
    METRICS_PORT: String(PURGE_METRICS_PORT),
    LOG_LEVEL: settings.logLevel,
  };
}

/** The migration command inside the API image. */
export const MIGRATION_COMMAND = ["node", "api/dist/migrate.js"] as const;

export interface MigrationSecrets<S> {
  /** TiDB's root password; a new cluster's empty one is replaced by it on the first run. */
  readonly rootPassword: S;
  /** The seed admin's password. */
  readonly adminPassword: S;
  /** Password of the API's own least-privilege account. */
  readonly apiDbPassword: S;
  /** Password of the token purge's account. */
  readonly purgeDbPassword: S;
}

type MigrationEnvName = EnvName<typeof MIGRATION_ENV>;
/** The migration's passwords: passed by name only, never on a command line. */
type MigrationSecretName = Among<
  MigrationEnvName,
  "DB_PASSWORD" | "ADMIN_PASSWORD" | "APP_DB_PASSWORD" | "PURGE_DB_PASSWORD"
>;

/**
 * The migration step's secret variables, name → value: passed by name only (`-e NAME`), never on a command
 * line. `S` is `string` in a test, a secret Output in the program.
 */
export function migrationSecretEnvironment<S>(secrets: MigrationSecrets<S>): Record<MigrationSecretName, S> {
  return {
    DB_PASSWORD: secrets.rootPassword,
    ADMIN_PASSWORD: secrets.adminPassword,
    APP_DB_PASSWORD: secrets.apiDbPassword,
    PURGE_DB_PASSWORD: secrets.purgeDbPassword,
  };
}

export interface MigrationEnvSettings {
  /** The database to create and migrate. */
  readonly database: string;
  /** The seed admin's email. */
  readonly adminEmail: string;
  /** Where TiDB is: `tidb` inside the stack. */
  readonly dbHost?: string;
  /** TiDB's MySQL port; default 4000. */
  readonly dbPort?: number;
}

/**
 * The migration step's plain settings: as TiDB's root, bootstrapping a new cluster's empty root password.
 * LOG_LEVEL is left at the command's default.
 */
export function migrationEnvironment(
  settings: MigrationEnvSettings,
): Record<Exclude<MigrationEnvName, MigrationSecretName | Among<MigrationEnvName, "LOG_LEVEL">>, string> {
  return {
    DB_HOST: settings.dbHost ?? "tidb",
    DB_PORT: String(settings.dbPort ?? PORTS.tidb),
    DB_USER: "root",
    DB_NAME: settings.database,
    DB_BOOTSTRAP_EMPTY_PASSWORD: "true",
    ADMIN_EMAIL: settings.adminEmail,
    APP_DB_USER: API_DB_USER,
    PURGE_DB_USER: PURGE_DB_USER,
  };
}
