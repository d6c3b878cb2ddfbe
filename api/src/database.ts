import mysql from "mysql2/promise";
import type { DbConfig } from "./config.ts";

/** Error codes meaning "the database cannot be reached right now" rather than "the query is wrong". */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
]);

/** TiDB's storage-layer errors (PD server timeout 9001, TiKV server timeout 9002, region unavailable 9005 ...). */
const isTidbStorageUnavailable = (errno: unknown): boolean =>
  typeof errno === "number" && errno >= 9001 && errno <= 9013;

/** True when `error` says the database is down or unreachable (worth a 503 and a retry), not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, errno, fatal } = error as { code?: unknown; errno?: unknown; fatal?: unknown };
  return (
    fatal === true ||
    (typeof code === "string" && UNAVAILABLE_CODES.has(code)) ||
    isTidbStorageUnavailable(errno)
  );
}

export interface PoolOptions {
  /** Default 10. */
  readonly connectionLimit?: number;
  /**
   * Report rows changed rather than rows found as affectedRows (mysql2 asks for found rows by default).
   * Then `INSERT ... ON DUPLICATE KEY UPDATE` answers 1 (inserted), 2 (updated) or 0 (left as it was),
   * which is how one statement can both decide and tell the decision.
   */
  readonly countChangedRows?: boolean;
}

/** A connection pool that stores and reads dates in UTC and fails fast when the database is away. */
export function createPool(config: DbConfig, options: PoolOptions = {}): mysql.Pool {
  return mysql.createPool({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    connectionLimit: options.connectionLimit ?? 10,
    timezone: "Z",
    // Fail a request within seconds when the database is unreachable instead of hanging it.
    connectTimeout: 5000,
    enableKeepAlive: true,
    supportBigNumbers: true,
    ...(options.countChangedRows === true ? { flags: ["-FOUND_ROWS"] } : {}),
  });
}
