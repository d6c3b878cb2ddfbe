import { ConfigError, EnvReader, type Env, type LogLevel } from "@tidbstack/service-kit";
import { PURGE_ENV } from "@tidbstack/service-kit/contracts";
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

/** Reads the token purge's environment (the contract PURGE_ENV, shared with the Pulumi program) and arguments. */
export function loadPurgeConfig(env: Env, args: readonly string[]): PurgeConfig {
  const unknown = args.find((arg) => arg !== "--once");
  if (unknown !== undefined)
    throw new ConfigError("arguments", `"${unknown}" is not an option (${PURGE_USAGE})`);
  const reader = new EnvReader(env);
  return {
    db: readDbConfig(reader),
    once: args.includes("--once"),
    intervalSeconds: reader.read(PURGE_ENV.PURGE_INTERVAL_SECONDS),
    graceSeconds: reader.read(PURGE_ENV.PURGE_GRACE_SECONDS),
    batchSize: reader.read(PURGE_ENV.PURGE_BATCH_SIZE),
    metricsPort: reader.read(PURGE_ENV.METRICS_PORT),
    logLevel: reader.read(PURGE_ENV.LOG_LEVEL),
  };
}
