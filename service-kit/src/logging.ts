import log4js from "log4js";
import type { LogLevel } from "./contracts.ts";

/**
 * Fields every line starts with, which event fields may not overwrite; and `toJSON`, which would make
 * JSON.stringify print whatever it returns instead of the line.
 */
const RESERVED_FIELDS = new Set(["timestamp", "level", "toJSON"]);

export type LogFields = Record<string, unknown>;

/**
 * Turns one log4js event into one JSON object on one line:
 * `{"timestamp":"<ISO 8601>","level":"info", ...fields}`. The log4js category is left out: each process
 * logs as one service, and audit lines (logins) have a fixed set of fields.
 *
 * Arguments to `logger.info(...)` are folded in order: plain objects contribute their fields, strings
 * become `msg`, and an Error becomes `err` with its name, message and stack (never `[object Object]`).
 */
export function formatLogEvent(event: log4js.LoggingEvent): string {
  return formatLogLine(event.startTime, event.level.levelStr, event.data as unknown[]);
}

/** The same line from its parts, for what is written before log4js is configured. */
export function formatLogLine(time: Date, levelStr: string, data: readonly unknown[]): string {
  const timestamp = isoTimestamp(time);
  const level = levelName(levelStr);
  const only = data.length === 1 ? data[0] : undefined;
  // The common case, one object of fields (every consumer row change and API request), is written
  // without copying it first: the copy and its garbage were a tenth of the consumer's time per event.
  if (isSimpleRecord(only)) {
    try {
      const fields = JSON.stringify(only);
      return `{"timestamp":"${timestamp}","level":"${level}"${fields === "{}" ? "}" : `,${fields.slice(1)}`}`;
    } catch {
      // A BigInt: the general path below prints it with the replacer.
    }
  }
  const line: LogFields = { timestamp, level };
  const messages: string[] = [];
  for (const part of data) {
    if (part instanceof Error) {
      line["err"] = serializeError(part);
    } else if (typeof part === "string") {
      messages.push(part);
    } else if (isPlainObject(part)) {
      for (const [key, value] of Object.entries(part)) {
        if (!RESERVED_FIELDS.has(key)) line[key] = value instanceof Error ? serializeError(value) : value;
      }
    } else if (part !== undefined) {
      messages.push(JSON.stringify(part, jsonSafe));
    }
  }
  if (messages.length > 0) line["msg"] = messages.join(" ");
  try {
    // A replacer slows every stringify down several times; it is only needed for the rare BigInt.
    return JSON.stringify(line);
  } catch {
    return JSON.stringify(line, jsonSafe);
  }
}

let lastMillis = Number.NaN;
let lastTimestamp = "";
/**
 * `date.toISOString()`, remembered for the last millisecond: a busy consumer logs dozens of lines per
 * millisecond, and formatting the date cost as much as serialising the rest of the line.
 */
function isoTimestamp(date: Date): string {
  const millis = date.getTime();
  if (millis !== lastMillis) {
    lastTimestamp = date.toISOString();
    lastMillis = millis;
  }
  return lastTimestamp;
}

const LEVEL_NAMES = new Map<string, string>();
/** "INFO" → "info", computed once per level. */
function levelName(levelStr: string): string {
  let name = LEVEL_NAMES.get(levelStr);
  if (name === undefined) {
    name = levelStr.toLowerCase();
    LEVEL_NAMES.set(levelStr, name);
  }
  return name;
}

/**
 * True when JSON.stringify of `value` writes exactly the fields the general path would copy: a literal
 * object (not a Date, Map or class instance, whose stringify differs), without a toJSON of its own,
 * without the reserved keys, and without Error values (which must be serialised with their stack).
 */
function isSimpleRecord(value: unknown): value is LogFields {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    if (RESERVED_FIELDS.has(key)) return false;
    if ((value as LogFields)[key] instanceof Error) return false;
  }
  return true;
}

/** BigInt values (TiDB TSOs) print as exact decimal strings instead of making JSON.stringify throw. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function serializeError(error: Error): LogFields {
  const fields: LogFields = { name: error.name, message: error.message };
  if (error.stack !== undefined) fields["stack"] = error.stack;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) fields["code"] = code;
  return fields;
}

function isPlainObject(value: unknown): value is LogFields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Configures log4js once per process: JSON lines on stdout at the given level. Call it from `main.ts`
 * only; everything else receives a logger.
 */
export function configureLogging(level: LogLevel): void {
  log4js.addLayout("json", () => formatLogEvent);
  log4js.configure({
    appenders: { stdout: { type: "stdout", layout: { type: "json" } } },
    categories: { default: { appenders: ["stdout"], level } },
  });
}

/**
 * Logs Node's process warnings (deprecations, kafkajs's negative timeouts on Node 24 ...) as JSON lines,
 * like everything else. Run with NODE_NO_WARNINGS=1 (the images set it) so Node does not also print them
 * as plain text on stderr.
 */
export function logProcessWarnings(logger: log4js.Logger): void {
  process.on("warning", (warning) => {
    logger.warn({ action: "process_warning", name: warning.name }, warning.message);
  });
}

/** Flushes buffered log lines; await it before the process exits. */
export function shutdownLogging(): Promise<void> {
  return new Promise((resolve) => {
    log4js.shutdown(() => {
      resolve();
    });
  });
}

/**
 * Routes log4js to an in-memory list of JSON lines, formatted exactly as in production. For tests that
 * assert on what a service logs.
 */
export function captureLogLines(level: LogLevel = "debug"): { lines: string[]; records: () => LogFields[] } {
  const lines: string[] = [];
  log4js.configure({
    appenders: {
      memory: {
        type: {
          configure: () => (event: log4js.LoggingEvent) => {
            lines.push(formatLogEvent(event));
          },
        },
      },
    },
    categories: { default: { appenders: ["memory"], level } },
  });
  return { lines, records: () => lines.map((line) => JSON.parse(line) as LogFields) };
}

export type Logger = log4js.Logger;
export const getLogger = (category: string): Logger => log4js.getLogger(category);
