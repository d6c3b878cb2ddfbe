import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";

/** A batch is at most a few thousand row deletions; this is generous, and a hung database still fails. */
const QUERY_TIMEOUT_MS = 30_000;

/** Tokens the purge may delete: expired, or revoked (which only happens before expiry), before `cutoff`. */
const DUE = "(expires_at < ? OR revoked_at < ?)";

export interface PurgeOptions {
  /** Tokens that expired or were revoked before this instant are deleted: now minus the grace period. */
  readonly cutoff: Date;
  /** Rows per batch; each batch is one short transaction. */
  readonly batchSize: number;
  /** Once aborted, the purge stops after the batch in progress. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the rows it deleted: a failed run still accounts for what it did. */
  readonly onBatch?: (deleted: number) => void;
}

export interface PurgeResult {
  readonly count: number;
  readonly batches: number;
  /** True when the signal stopped the run before every due token was deleted. */
  readonly interrupted: boolean;
}

/**
 * Deletes every token due at `cutoff`, in batches chosen by primary key: the ids of the next `batchSize`
 * due rows (`ORDER BY id LIMIT n`), then `DELETE ... WHERE id IN (...)`, each an autocommit statement. No
 * transaction grows with the table, which TiDB (a transaction is held in memory until commit) and CDC
 * (one transaction is one burst of events) both need. The delete checks the condition again, so it can
 * never remove a row the select did not mean. A batch smaller than `batchSize` was the last one.
 */
export async function purgeTokens(pool: Pool, options: PurgeOptions): Promise<PurgeResult> {
  const { cutoff, batchSize, signal } = options;
  let count = 0;
  let batches = 0;
  for (;;) {
    if (signal?.aborted === true) return { count, batches, interrupted: true };
    const [rows] = await pool.query<RowDataPacket[]>({
      sql: `SELECT id FROM tokens WHERE ${DUE} ORDER BY id LIMIT ?`,
      values: [cutoff, cutoff, batchSize],
      timeout: QUERY_TIMEOUT_MS,
    });
    if (rows.length === 0) break;
    const [result] = await pool.query<ResultSetHeader>({
      sql: `DELETE FROM tokens WHERE id IN (?) AND ${DUE}`,
      values: [rows.map((row) => row["id"] as number | string), cutoff, cutoff],
      timeout: QUERY_TIMEOUT_MS,
    });
    count += result.affectedRows;
    batches++;
    options.onBatch?.(result.affectedRows);
    if (rows.length < batchSize) break;
  }
  return { count, batches, interrupted: false };
}
