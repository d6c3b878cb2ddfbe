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
  readonly logLevel: LogLevel;
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
    logLevel: reader.read(API_ENV.LOG_LEVEL),
  };
}
