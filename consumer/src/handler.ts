import type { Logger } from "@tidbstack/service-kit";
import { setColumn, tsoToMillis, type CdcEvent, type DdlEvent, type Row, type RowEvent } from "./events.ts";
import type { ConsumerMetrics } from "./metrics.ts";
import { RecentKeys } from "./dedup.ts";
import { redactRow } from "./redact.ts";

/** How many recent changes are remembered by default to drop redeliveries. */
export const DEFAULT_DEDUP_WINDOW = 100_000;

export interface HandlerDeps {
  readonly logger: Logger;
  readonly metrics: ConsumerMetrics;
  /** How many recent changes are remembered to drop redeliveries. */
  readonly dedupWindow?: number;
  readonly now?: () => number;
}

/** Turns parsed CDC events into log lines and metrics: one line per row change, one per DDL. */
export type EventHandler = (event: CdcEvent) => void;

export function createEventHandler(deps: HandlerDeps): EventHandler {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const seen = new RecentKeys(deps.dedupWindow ?? DEFAULT_DEDUP_WINDOW);
  let newestWatermarkMs = 0;
  let newestCommitMs = 0;

  const handleRows = (event: RowEvent): void => {
    const { database, table, type, commitTs, rows } = event;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index] as Row;
      const pk = primaryKey(event.pkNames, row);
      // NUL cannot occur in identifiers or JSON, so the parts cannot run into each other.
      if (!seen.firstSeen(`${database}\0${table}\0${JSON.stringify(pk)}\0${commitTs}`)) {
        metrics.duplicates.inc();
        logger.debug({ action: "db_change_duplicate", database, table, pk: redactRow(pk), commitTs });
        continue;
      }
      const lagMs = Math.max(0, now() - event.commitTimeMs);
      const line: Record<string, unknown> = {
        action: "db_change",
        database,
        table,
        type,
        pk: redactRow(pk),
        commitTs,
        lagMs,
        data: redactRow(row),
      };
      const old = event.old?.[index];
      if (old !== undefined) line["old"] = redactRow(old);
      logger.info(line);
      metrics.countEvent(database, table, type);
      metrics.eventLag.observe(lagMs / 1000);
      if (event.commitTimeMs > newestCommitMs) {
        newestCommitMs = event.commitTimeMs;
        metrics.lastCommit.set(newestCommitMs / 1000);
      }
    }
  };

  const handleDdl = (event: DdlEvent): void => {
    if (!seen.firstSeen(`${event.database}\0${event.table}\0ddl\0${event.sql}\0${event.commitTs}`)) {
      metrics.duplicates.inc();
      return;
    }
    logger.info({
      action: "db_ddl",
      database: event.database,
      table: event.table,
      type: event.type,
      sql: event.sql,
      commitTs: event.commitTs,
    });
    metrics.ddl.inc();
  };

  return (event) => {
    switch (event.kind) {
      case "row":
        handleRows(event);
        break;
      case "ddl":
        handleDdl(event);
        break;
      case "watermark": {
        const ms = tsoToMillis(event.watermarkTs);
        if (ms > newestWatermarkMs) {
          newestWatermarkMs = ms;
          metrics.lastWatermark.set(ms / 1000);
        }
        break;
      }
    }
  };
}

/** The row's primary-key columns and values; all columns when TiCDC named no key, so a change is still identifiable. */
function primaryKey(pkNames: readonly string[], row: Row): Record<string, string | null> {
  const names = pkNames.length > 0 ? pkNames : Object.keys(row).sort();
  const pk: Record<string, string | null> = {};
  for (const name of names) setColumn(pk, name, row[name] ?? null);
  return pk;
}
