import { createHash } from "node:crypto";
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Logger } from "@tidbstack/service-kit";
import type { DbConfig } from "./config.ts";
import { createPool } from "./database.ts";
import type { LoginRateLimiter, RateLimitDecision } from "./rate-limit.ts";

/**
 * The login limit shared by every API replica: one row per client in `login_rate_limits`, decided by one
 * atomic statement, so N replicas together allow `perMinute` attempts per client, not N times as many.
 *
 * The algorithm is GCRA, the token bucket written as a single number: each client's row holds the
 * theoretical arrival time (TAT) of its next attempt. An attempt at `now` is allowed when
 * `max(TAT, now) + T <= now + perMinute·T` (T = one minute / perMinute), and then moves TAT to
 * `max(TAT, now) + T`; a refused attempt leaves the row as it was. That is the memory limiter's bucket
 * (burst of perMinute, one attempt regained every T) with one column instead of two, so the statement has
 * a single assignment and does not depend on the order in which a server evaluates assignments (MySQL
 * evaluates them left to right, each seeing the previous one's new value).
 *
 * Portability, checked against each server's source or manual: `INSERT ... ON DUPLICATE KEY UPDATE` with
 * `IF` and `GREATEST` over the row's old value runs on MySQL, MariaDB and TiDB alike; the decision is read
 * from affectedRows, which without CLIENT_FOUND_ROWS is 1 for an insert, 2 for a changed row and 0 for an
 * unchanged one on MySQL (manual, mysql_affected_rows), MariaDB (sql_insert.cc) and TiDB (pkg/executor/write.go,
 * updateRecord: adds 1 for an unchanged row only with ClientFoundRows, 2 for a changed ODKU row). No
 * RETURNING, user variables or LAST_INSERT_ID(expr), whose server-side details differ.
 *
 * It fails closed: when the database cannot answer (down, slow past QUERY_TIMEOUT_MS), take() rejects and
 * the login route answers 503 JSON, as for any database outage. Failing open would turn every fault of the
 * limiter into unlimited password guessing, and would buy no availability: a login reads the user from the
 * same database anyway.
 *
 * Time comes from the API's clock, in microseconds. Replicas' clocks differ by milliseconds under NTP;
 * `max(TAT, now)` never moves a row back, and a replica whose clock is ahead by d gains at most d/T of an
 * attempt.
 */

/** A limiter that cannot decide within this long fails the request (503) instead of holding it. */
const QUERY_TIMEOUT_MS = 2000;
/** The limiter's own connections: its checks never queue behind the API's other queries. */
const POOL_CONNECTIONS = 4;
/** A statement the database aborted to break a deadlock or a write conflict is simply run again. */
const MAX_ATTEMPTS = 3;
const RETRIABLE_ERRNOS = new Set([
  1213, // ER_LOCK_DEADLOCK (MySQL, MariaDB)
  9007, // TiDB: write conflict
]);

const UPSERT = `INSERT INTO login_rate_limits (client_key, tat_us) VALUES (?, ?)
  ON DUPLICATE KEY UPDATE tat_us = IF(GREATEST(tat_us, ?) + ? <= ?, GREATEST(tat_us, ?) + ?, tat_us)`;

export interface DatabaseRateLimiterOptions {
  readonly perMinute: number;
  /** Milliseconds since the epoch; injected so tests can move time. Default: Date.now. */
  readonly now?: () => number;
}

export class DatabaseRateLimiter implements LoginRateLimiter {
  private readonly pool: Pool;
  /** T: microseconds between two attempts at the sustained rate (rounded up: never more than perMinute). */
  private readonly intervalUs: number;
  /** perMinute·T: how far ahead of now a client's TAT may run. */
  private readonly windowUs: number;
  private readonly now: () => number;

  /**
   * Opens its own pool, with affectedRows counting changed rows: the decision depends on it, so the limiter
   * never runs on a pool configured otherwise.
   */
  constructor(db: DbConfig, options: DatabaseRateLimiterOptions) {
    this.pool = createPool(db, { connectionLimit: POOL_CONNECTIONS, countChangedRows: true });
    this.intervalUs = Math.ceil(60_000_000 / options.perMinute);
    this.windowUs = options.perMinute * this.intervalUs;
    this.now = options.now ?? Date.now;
  }

  async take(key: string): Promise<RateLimitDecision> {
    const clientKey = keyHash(key);
    const nowUs = this.now() * 1000;
    const interval = this.intervalUs;
    const result = await retrying(() =>
      this.pool.query<ResultSetHeader>({
        sql: UPSERT,
        values: [clientKey, nowUs + interval, nowUs, interval, nowUs + this.windowUs, nowUs, interval],
        timeout: QUERY_TIMEOUT_MS,
      }),
    );
    const affected = result[0].affectedRows;
    if (affected === 1 || affected === 2) return { allowed: true, retryAfterSeconds: 0 };
    if (affected !== 0) throw new Error(`login rate limit: unexpected affectedRows ${affected}`);
    return { allowed: false, retryAfterSeconds: await this.retryAfterSeconds(clientKey, nowUs) };
  }

  /**
   * Deletes rows whose TAT has passed, `batchSize` at a time and at most `maxBatches` batches, and says
   * how many rows it deleted in how many batches. Such a row holds a full bucket, exactly what a missing row means, so deleting it
   * loses nothing, even if the client comes back at that moment. Each batch is two short statements: the
   * keys, then a delete by primary key that checks the condition again.
   */
  async sweep(batchSize = 500, maxBatches = 20): Promise<{ count: number; batches: number }> {
    let count = 0;
    let batches = 0;
    while (batches < maxBatches) {
      const nowUs = this.now() * 1000;
      const [rows] = await this.pool.query<RowDataPacket[]>({
        sql: "SELECT client_key FROM login_rate_limits WHERE tat_us < ? ORDER BY tat_us LIMIT ?",
        values: [nowUs, batchSize],
        timeout: QUERY_TIMEOUT_MS,
      });
      if (rows.length === 0) break;
      const [result] = await this.pool.query<ResultSetHeader>({
        sql: "DELETE FROM login_rate_limits WHERE client_key IN (?) AND tat_us < ?",
        values: [rows.map((row) => row["client_key"] as Buffer), nowUs],
        timeout: QUERY_TIMEOUT_MS,
      });
      count += result.affectedRows;
      batches++;
      if (rows.length < batchSize) break;
    }
    return { count, batches };
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** When the refused client may try again, from the row as it is now (left unchanged by the refusal). */
  private async retryAfterSeconds(clientKey: Buffer, nowUs: number): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>({
      sql: "SELECT tat_us FROM login_rate_limits WHERE client_key = ?",
      values: [clientKey],
      timeout: QUERY_TIMEOUT_MS,
    });
    const tat = rows[0] === undefined ? nowUs : Number(rows[0]["tat_us"]);
    const waitUs = tat + this.intervalUs - this.windowUs - nowUs;
    return Math.max(1, Math.ceil(waitUs / 1_000_000));
  }
}

/** Fixed width whatever the key (an IPv6 address, a forwarded value); not meant to hide the address. */
const keyHash = (key: string): Buffer => createHash("sha256").update(key).digest();

async function retrying<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (attempt >= MAX_ATTEMPTS || typeof errno !== "number" || !RETRIABLE_ERRNOS.has(errno)) throw error;
    }
  }
}

export interface Sweeper {
  /** Stops the schedule and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps the limiter's table from the API process every `intervalMs` on average (randomised by ±50% so
 * replicas do not all sweep at once). The table then holds at most the clients seen in the last minute plus
 * one interval, and the 20 × 500 rows a sweep may delete bound each sweep's work. A failed sweep is logged
 * and tried again next time: the limit itself does not depend on it.
 */
export function startSweeping(limiter: DatabaseRateLimiter, logger: Logger, intervalMs = 60_000): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = sweepOnce().finally(schedule);
      },
      intervalMs * (0.5 + Math.random()),
    );
    timer.unref();
  };
  const sweepOnce = async (): Promise<void> => {
    try {
      const { count, batches } = await limiter.sweep();
      if (count > 0) logger.info({ action: "login_limits_swept", count, batches });
    } catch (error) {
      logger.warn(
        { action: "login_limits_sweep_failed" },
        error instanceof Error ? error.message : String(error),
      );
    }
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
