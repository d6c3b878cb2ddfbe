import type { CdcEvent, ParseResult, RejectReason, Row, RowChangeType } from "./events.ts";

/** Larger values are refused before parsing. TiCDC's default max-message-bytes is 1 MiB; this leaves room. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

const ROW_TYPES = new Set<string>(["INSERT", "UPDATE", "DELETE"]);
const TSO_KEYS = new Set(["commitTs", "watermarkTs"]);
const DIGITS = /^\d{1,20}$/;

class InvalidEvent extends Error {}

const reject = (reason: RejectReason, detail: string): ParseResult => ({ ok: false, reason, detail });

/**
 * Kafka message value → typed CDC event, or the reason it cannot be one. Pure: no I/O, never throws.
 *
 * TSOs (`_tidb.commitTs`, `_tidb.watermarkTs`) are read from the JSON source text, so they stay exact
 * even though they exceed Number.MAX_SAFE_INTEGER.
 */
export function parseMessage(value: Buffer | null): ParseResult {
  if (value === null || value.length === 0) return reject("empty", "the message has no value");
  if (value.length > MAX_MESSAGE_BYTES) {
    return reject("too_large", `the value has ${value.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"), keepTsoExact);
  } catch (error) {
    return reject("not_json", error instanceof Error ? error.message : String(error));
  }
  try {
    return { ok: true, event: toEvent(json) };
  } catch (error) {
    if (error instanceof InvalidEvent) return reject("invalid_event", error.message);
    throw error;
  }
}

/** JSON.parse reviver: a TSO number becomes its exact decimal source text instead of a rounded double. */
function keepTsoExact(key: string, value: unknown, context?: { source?: string }): unknown {
  if (TSO_KEYS.has(key) && typeof value === "number" && context?.source !== undefined) return context.source;
  return value;
}

function toEvent(json: unknown): CdcEvent {
  const message = object(json, "the message");
  const type = string(message["type"], "type");
  const tidb =
    message["_tidb"] === undefined || message["_tidb"] === null ? {} : object(message["_tidb"], "_tidb");

  if (type === "TIDB_WATERMARK") {
    return { kind: "watermark", watermarkTs: tso(tidb["watermarkTs"], "_tidb.watermarkTs") };
  }
  if (message["isDdl"] === true) {
    return {
      kind: "ddl",
      database: string(message["database"], "database"),
      table: optionalString(message["table"], "table"),
      type,
      sql: string(message["sql"], "sql"),
      commitTs: tso(tidb["commitTs"], "_tidb.commitTs"),
    };
  }
  if (message["isDdl"] !== false) throw new InvalidEvent("isDdl must be true or false");
  if (!ROW_TYPES.has(type)) throw new InvalidEvent(`unsupported row event type "${type}"`);
  const rows = rowList(message["data"], "data");
  if (rows.length === 0) throw new InvalidEvent("data must hold at least one row");
  const old = message["old"] === null || message["old"] === undefined ? null : rowList(message["old"], "old");
  if (type === "UPDATE" && (old === null || old.length !== rows.length)) {
    throw new InvalidEvent("an UPDATE needs old rows, one for each row in data");
  }
  const pkNames =
    message["pkNames"] === null || message["pkNames"] === undefined
      ? []
      : stringList(message["pkNames"], "pkNames");
  const es = message["es"];
  if (typeof es !== "number" || !Number.isFinite(es) || es < 0)
    throw new InvalidEvent("es must be a commit time in ms");
  return {
    kind: "row",
    database: nonEmpty(message["database"], "database"),
    table: nonEmpty(message["table"], "table"),
    type: type as RowChangeType,
    pkNames,
    rows,
    old: type === "UPDATE" ? old : null,
    commitTimeMs: es,
    commitTs: tso(tidb["commitTs"], "_tidb.commitTs"),
  };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidEvent(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function string(value: unknown, field: string): string {
  if (typeof value !== "string") throw new InvalidEvent(`${field} must be a string`);
  return value;
}

function nonEmpty(value: unknown, field: string): string {
  const text = string(value, field);
  if (text === "") throw new InvalidEvent(`${field} must not be empty`);
  return text;
}

function optionalString(value: unknown, field: string): string {
  return value === null || value === undefined ? "" : string(value, field);
}

function tso(value: unknown, field: string): string {
  if (typeof value !== "string" || !DIGITS.test(value))
    throw new InvalidEvent(`${field} must be a TSO (an unsigned integer)`);
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new InvalidEvent(`${field} must be an array of strings`);
  }
  return value;
}

function rowList(value: unknown, field: string): Row[] {
  if (!Array.isArray(value)) throw new InvalidEvent(`${field} must be an array of rows`);
  return value.map((row, index) => {
    const columns = object(row, `${field}[${index}]`);
    for (const [column, cell] of Object.entries(columns)) {
      if (cell !== null && typeof cell !== "string") {
        throw new InvalidEvent(`${field}[${index}].${column} must be a string or null`);
      }
    }
    return columns as Row;
  });
}
