/** The typed form of TiCDC's canal-json messages (with `enable-tidb-extension=true`). */

/** One row: column name → value as TiCDC sends it (a string), or null for SQL NULL. */
export type Row = Readonly<Record<string, string | null>>;

/** Adds a column to a row being built. A plain assignment to "__proto__" would set the prototype instead. */
export function setColumn(row: Record<string, string | null>, name: string, value: string | null): void {
  if (name === "__proto__") {
    Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    row[name] = value;
  }
}

export type RowChangeType = "INSERT" | "UPDATE" | "DELETE";

export interface RowEvent {
  readonly kind: "row";
  readonly database: string;
  readonly table: string;
  readonly type: RowChangeType;
  /** Primary-key column names; empty when TiCDC sent none. */
  readonly pkNames: readonly string[];
  /** The rows after the change; for DELETE, the deleted rows. */
  readonly rows: readonly Row[];
  /** UPDATE only: the full rows before the change, index for index with `rows`. */
  readonly old: readonly Row[] | null;
  /** Commit time in ms since the epoch. */
  readonly commitTimeMs: number;
  /** TiDB's commit TSO as an exact decimal string (it exceeds 2^53). */
  readonly commitTs: string;
}

export interface DdlEvent {
  readonly kind: "ddl";
  readonly database: string;
  readonly table: string;
  /** CREATE, ALTER, ERASE, TRUNCATE, RENAME, CINDEX, DINDEX or QUERY. */
  readonly type: string;
  readonly sql: string;
  readonly commitTs: string;
}

export interface WatermarkEvent {
  readonly kind: "watermark";
  /** Every event with a smaller commitTs on this partition has been sent (exact decimal string). */
  readonly watermarkTs: string;
}

export type CdcEvent = RowEvent | DdlEvent | WatermarkEvent;

/** Why a message was dead-lettered; the `reason` label of cdc_dlq_messages_total. */
export const REJECT_REASONS = ["empty", "too_large", "not_json", "invalid_event"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Every reason a message can be dead-lettered for: the parser's, or the handler failing on it. */
export const DLQ_REASONS = [...REJECT_REASONS, "handler_error"] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

export type ParseResult =
  | { readonly ok: true; readonly event: CdcEvent }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/** Milliseconds since the epoch encoded in a TiDB TSO: its physical part, the bits above the low 18. */
export const tsoToMillis = (tso: string): number => Number(BigInt(tso) >> 18n);
