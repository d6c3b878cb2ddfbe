import { ConfigError, EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import { readDbConfig, type DbConfig } from "./config.ts";

/** Everything the token purge reads from its environment and command line, validated once at start-up. */
export interface PurgeConfig {
  /** The purge's own account: SELECT and DELETE on tokens only. */
  readonly db: DbConfig;
  /** `--once`: purge, then exit. Otherwise purge every `intervalSeconds` until SIGTERM. */
  readonly once: boolean;
  readonly intervalSeconds: number;
  /** Tokens expired or revoked longer ago than this are deleted. */
  readonly graceSeconds: number;
  /** Rows deleted per batch (one short transaction each). */
  readonly batchSize: number;
  /** Port of /metrics and /health when running as a service. */
  readonly metricsPort: number;
  readonly logLevel: LogLevel;
}

export const PURGE_USAGE = "usage: purge [--once]";

export function loadPurgeConfig(env: Env, args: readonly string[]): PurgeConfig {
  const unknown = args.find((arg) => arg !== "--once");
  if (unknown !== undefined)
    throw new ConfigError("arguments", `"${unknown}" is not an option (${PURGE_USAGE})`);
  const reader = new EnvReader(env);
  return {
    db: readDbConfig(reader),
    once: args.includes("--once"),
    intervalSeconds: reader.integer("PURGE_INTERVAL_SECONDS", 300, { min: 1, max: 7 * 24 * 3600 }),
    graceSeconds: reader.integer("PURGE_GRACE_SECONDS", 86_400, { min: 0, max: 365 * 24 * 3600 }),
    // TiDB keeps a transaction in memory until it commits: a batch stays far below its limits.
    batchSize: reader.integer("PURGE_BATCH_SIZE", 1000, { min: 1, max: 10_000 }),
    metricsPort: reader.port("METRICS_PORT", 9465),
    logLevel: reader.logLevel("LOG_LEVEL", "info"),
  };
}
