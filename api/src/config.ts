import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import { API_ENV, DB_ENV, type RateLimitStore } from "@tidbstack/service-kit/contracts";

/** Everything the API server reads from its environment, validated once at start-up. */
export interface ApiConfig {
  readonly port: number;
  /** Port of /metrics (and /health) for Prometheus: apart from `port`, so publishing the API leaves it private. */
  readonly metricsPort: number;
  /** The address both ports listen on (HOST); absent: every interface. */
  readonly host?: string;
  readonly db: DbConfig;
  /** How long a login token stays valid, in seconds. */
  readonly tokenTtlSeconds: number;
  /** Login attempts allowed per client IP per minute. */
  readonly loginRateLimitPerMinute: number;
  /** Where the login limit is kept: `memory` (per process) or `database` (shared by every replica). */
  readonly loginRateLimitStore: RateLimitStore;
  /**
   * Express's `trust proxy`: false (the socket's peer is the client), a number of proxy hops whose
   * X-Forwarded-For entries are believed, or true (all of them).
   */
  readonly trustProxy: boolean | number;
  /** The /me token cache, or undefined when it is turned off. */
  readonly tokenCache?: TokenCacheConfig;
  readonly logLevel: LogLevel;
}

export interface TokenCacheConfig {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** A cached session is read from the database again after this long, in ms. */
  readonly maxAgeMs: number;
  /** A revoked token is refused by every process within this long, in ms. */
  readonly revocationBoundMs: number;
}

export interface DbConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** The database connection, shared by the server, the token purge and the migration command. */
export function readDbConfig(reader: EnvReader): DbConfig {
  return {
    host: reader.read(DB_ENV.DB_HOST),
    port: reader.read(DB_ENV.DB_PORT),
    user: reader.read(DB_ENV.DB_USER),
    password: reader.read(DB_ENV.DB_PASSWORD),
    database: reader.read(DB_ENV.DB_NAME),
  };
}

/** Reads the API server's environment: the contract API_ENV, shared with the Pulumi program. */
export function loadApiConfig(env: Env): ApiConfig {
  const reader = new EnvReader(env);
  const host = reader.read(API_ENV.HOST);
  return {
    port: reader.read(API_ENV.PORT),
    metricsPort: reader.read(API_ENV.METRICS_PORT),
    ...(host === undefined ? {} : { host }),
    db: readDbConfig(reader),
    tokenTtlSeconds: reader.read(API_ENV.TOKEN_TTL_SECONDS),
    loginRateLimitPerMinute: reader.read(API_ENV.LOGIN_RATE_LIMIT_PER_MINUTE),
    loginRateLimitStore: reader.read(API_ENV.LOGIN_RATE_LIMIT_STORE),
    trustProxy: reader.read(API_ENV.TRUST_PROXY),
    ...tokenCacheConfig(reader),
    logLevel: reader.read(API_ENV.LOG_LEVEL),
  };
}

function tokenCacheConfig(reader: EnvReader): { tokenCache?: TokenCacheConfig } {
  const maxEntries = reader.read(API_ENV.TOKEN_CACHE_MAX_ENTRIES);
  const maxMib = reader.read(API_ENV.TOKEN_CACHE_MAX_MIB);
  const maxAgeSeconds = reader.read(API_ENV.TOKEN_CACHE_MAX_AGE_SECONDS);
  const revocationBoundMs = reader.read(API_ENV.TOKEN_CACHE_REVOCATION_BOUND_MS);
  if (maxEntries === 0 || maxMib === 0 || maxAgeSeconds === 0) return {};
  return {
    tokenCache: { maxEntries, maxBytes: maxMib * 2 ** 20, maxAgeMs: maxAgeSeconds * 1000, revocationBoundMs },
  };
}
