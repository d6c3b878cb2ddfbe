import { EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import { RATE_LIMIT_STORES, type RateLimitStore } from "./rate-limit.ts";

/** Everything the API server reads from its environment, validated once at start-up. */
export interface ApiConfig {
  readonly port: number;
  /** The address to listen on (HOST); absent: every interface. */
  readonly host?: string;
  readonly db: DbConfig;
  /** How long a login token stays valid, in seconds. */
  readonly tokenTtlSeconds: number;
  /** Login attempts allowed per client IP per minute. */
  readonly loginRateLimitPerMinute: number;
  /** Where the login limit is kept: `memory` (per process) or `database` (shared by every replica). */
  readonly loginRateLimitStore: RateLimitStore;
  /** Express's `trust proxy`: whether the client IP comes from X-Forwarded-For. */
  readonly trustProxy: boolean;
  readonly logLevel: LogLevel;
}

export interface DbConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** The database connection, shared by the server and the migration command. */
export function readDbConfig(reader: EnvReader): DbConfig {
  return {
    host: reader.string("DB_HOST", "127.0.0.1"),
    port: reader.port("DB_PORT", 4000),
    user: reader.string("DB_USER"),
    password: reader.secret("DB_PASSWORD", ""),
    database: reader.identifier("DB_NAME", "appdb"),
  };
}

export function loadApiConfig(env: Env): ApiConfig {
  const reader = new EnvReader(env);
  const host = reader.listenHost("HOST");
  return {
    port: reader.port("PORT", 3000),
    ...(host === undefined ? {} : { host }),
    db: readDbConfig(reader),
    tokenTtlSeconds: reader.integer("TOKEN_TTL_SECONDS", 3600, { min: 60, max: 30 * 24 * 3600 }),
    loginRateLimitPerMinute: reader.integer("LOGIN_RATE_LIMIT_PER_MINUTE", 10, { min: 1, max: 1_000_000 }),
    loginRateLimitStore: reader.matching(
      "LOGIN_RATE_LIMIT_STORE",
      new RegExp(`^(${RATE_LIMIT_STORES.join("|")})$`),
      RATE_LIMIT_STORES.join(" or "),
      "memory",
    ) as RateLimitStore,
    trustProxy: reader.boolean("TRUST_PROXY", false),
    logLevel: reader.logLevel("LOG_LEVEL", "info"),
  };
}
