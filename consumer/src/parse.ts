import type { CdcEvent, ParseResult, RejectReason, Row, RowChangeType } from "./events.ts";

/** Larger values are refused before parsing. TiCDC's default max-message-bytes is 1 MiB; this leaves room. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

const ROW_TYPES = new Set<string>(["INSERT", "UPDATE", "DELETE"]);
const DIGITS = /^\d{1,20}$/;
/**
 * The `_tidb` object as it appears in the source text. TiCDC writes it as the last member of the message,
 * so only text that the message's closing brace ends is the top-level key: an object of the same shape
 * nested in another field (or under a key such as `x"_tidb`, whose text contains `"_tidb"` after an escaped
 * quote) must not supply the digits. Read backwards from the end, by hand: a regular expression for it was
 * a twentieth of the consumer's time per event.
 */
const TIDB_KEY = '"_tidb"';
/** The TSO's key, and the key as it is quoted in the text. */
const TSO_KEYS = [
  ["commitTs", '"commitTs"'],
  ["watermarkTs", '"watermarkTs"'],
] as const;
const MAX_TSO_DIGITS = 20;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COLON = 0x3a;

class InvalidEvent extends Error {}

const reject = (reason: RejectReason, detail: string): ParseResult => ({ ok: false, reason, detail });

/**
 * Kafka message value → typed CDC event, or the reason it cannot be one. Pure: no I/O, never throws.
 *
 * TSOs (`_tidb.commitTs`, `_tidb.watermarkTs`) are read as digits from the source text, so they stay exact
 * even though they exceed Number.MAX_SAFE_INTEGER. (A JSON.parse reviver with source access would do it
 * too, but costs five times as much per message on this hot path.)
 */
export function parseMessage(value: Buffer | null): ParseResult {
  if (value === null || value.length === 0) return reject("empty", "the message has no value");
  if (value.length > MAX_MESSAGE_BYTES) {
    return reject("too_large", `the value has ${value.length} bytes, more than ${MAX_MESSAGE_BYTES}`);
  }
  const text = value.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return reject("not_json", notJsonDetail(error));
  }
  try {
    return { ok: true, event: toEvent(json, exactTso(json, text)) };
  } catch (error) {
    if (error instanceof InvalidEvent) return reject("invalid_event", error.message);
    throw error;
  }
}

/**
 * What was wrong with a value that is not JSON, without quoting it: JSON.parse's own message repeats the
 * value's first characters, and a dead letter's detail (a Kafka header and a log line) must not carry the
 * poison message's content. Only the position JSON.parse reports is kept.
 */
function notJsonDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  if (message.startsWith("Unexpected end of JSON input"))
    return "the value is not valid JSON: it ends too early";
  const position = /\bat position (\d+)/.exec(message)?.[1];
  return position === undefined
    ? "the value is not valid JSON"
    : `the value is not valid JSON: syntax error at character ${position}`;
}

/** The exact digits of the `_tidb` TSO named `key`, which stand in for the rounded number JSON.parse made. */
interface ExactTso {
  readonly key: "commitTs" | "watermarkTs";
  readonly digits: string;
}

/**
 * Reads `_tidb`'s TSO as digits from the source text. The digits must round to the parsed number, so the
 * text that was matched is the value that was parsed; otherwise the parsed value is used as it is.
 */
function exactTso(json: unknown, text: string): ExactTso | null {
  const tidb = (json as { _tidb?: unknown } | null)?._tidb;
  if (typeof tidb !== "object" || tidb === null) return null;
  // `"_tidb" : { "<key>" : <digits> } }` and the end of the text, read from the end. JSON.parse accepted
  // the text, so only JSON's whitespace can stand between these tokens.
  let at = expectBack(text, expectBack(text, text.length - 1, CLOSE_BRACE), CLOSE_BRACE);
  if (at === MISMATCH) return null;
  at = skipSpaceBack(text, at);
  const digitsEnd = at + 1;
  while (at >= 0 && isDigit(text.charCodeAt(at))) at--;
  const digits = text.slice(at + 1, digitsEnd);
  if (digits.length === 0 || digits.length > MAX_TSO_DIGITS) return null;
  at = skipSpaceBack(text, expectBack(text, at, COLON));
  const found = TSO_KEYS.find(([, quoted]) => endsWithAt(text, quoted, at));
  if (found === undefined) return null;
  const [key, quoted] = found;
  at = skipSpaceBack(text, expectBack(text, expectBack(text, at - quoted.length, OPEN_BRACE), COLON));
  if (!endsWithAt(text, TIDB_KEY, at)) return null;
  // After a backslash the quote is escaped: the text is inside a string, not the key.
  if (text.charCodeAt(at - TIDB_KEY.length) === BACKSLASH) return null;
  const parsed = (tidb as Record<string, unknown>)[key];
  if (typeof parsed !== "number" || Number(digits) !== parsed) return null;
  return { key, digits };
}

/** JSON's insignificant whitespace: space, tab, line feed, carriage return. */
const isJsonSpace = (code: number): boolean =>
  code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

/** What the backward readers return once the text did not match; it stays so through every later step. */
const MISMATCH = -2;

/** The index of the last non-whitespace character at or before `at` (-1 when there is none). */
function skipSpaceBack(text: string, at: number): number {
  while (at >= 0 && isJsonSpace(text.charCodeAt(at))) at--;
  return at;
}

/** Skips whitespace back from `at` and expects `code` there: the index before it, or MISMATCH. */
function expectBack(text: string, at: number, code: number): number {
  const found = skipSpaceBack(text, at);
  return found >= 0 && text.charCodeAt(found) === code ? found - 1 : MISMATCH;
}

/** True when `text` has `part` ending at index `at` (inclusive). */
const endsWithAt = (text: string, part: string, at: number): boolean =>
  at >= 0 && text.endsWith(part, at + 1);

function toEvent(json: unknown, exact: ExactTso | null): CdcEvent {
  const message = object(json, "the message");
  const type = string(message["type"], "type");
  const tidb =
    message["_tidb"] === undefined || message["_tidb"] === null ? {} : object(message["_tidb"], "_tidb");
  const tidbField = (key: ExactTso["key"]): unknown => (exact?.key === key ? exact.digits : tidb[key]);

  if (type === "TIDB_WATERMARK") {
    return { kind: "watermark", watermarkTs: tso(tidbField("watermarkTs"), "_tidb.watermarkTs") };
  }
  if (message["isDdl"] === true) {
    return {
      kind: "ddl",
      database: string(message["database"], "database"),
      table: optionalString(message["table"], "table"),
      type,
      sql: string(message["sql"], "sql"),
      commitTs: tso(tidbField("commitTs"), "_tidb.commitTs"),
    };
  }
  if (message["isDdl"] !== false) throw new InvalidEvent("isDdl must be true or false");
  // The type is not quoted: a rejection's detail never repeats the message's content.
  if (!ROW_TYPES.has(type))
    throw new InvalidEvent("type must be INSERT, UPDATE, DELETE or TIDB_WATERMARK when isDdl is false");
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
    commitTs: tso(tidbField("commitTs"), "_tidb.commitTs"),
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

/** Checks every row in place: JSON.parse made the array and its objects, so they need no copy. */
function rowList(value: unknown, field: string): Row[] {
  if (!Array.isArray(value)) throw new InvalidEvent(`${field} must be an array of rows`);
  for (let index = 0; index < value.length; index++) {
    const columns = object(value[index], `${field}[${index}]`);
    // for-in rather than Object.keys: no array per row. JSON.parse makes plain objects, and the object
    // prototype has no enumerable properties, so it visits exactly the row's own columns.
    let position = 0;
    for (const name in columns) {
      position++;
      const cell = columns[name];
      if (cell !== null && typeof cell !== "string") {
        // Named by position: a column name is the message's content too.
        throw new InvalidEvent(`${field}[${index}], column ${position}: a value must be a string or null`);
      }
    }
  }
  return value as Row[];
}
