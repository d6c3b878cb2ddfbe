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

/** Where JSON lines go: one call per line, or per batch of lines when buffered. */
export type LineSink = (chunk: string) => void;

export interface LoggingOptions {
  /**
   * Hold lines and write them together: at the end of the event loop's current turn, once 64 KiB have
   * gathered, on `flushLogs()`, at `shutdownLogging()` and when the process exits. For a process that logs
   * a line per event (the consumer), one write per line is a third of its time per event; one per batch
   * is not measurable. A process that must have a line on stdout before it answers (the API's login
   * audit line) leaves this off. Default: off.
   */
  readonly buffered?: boolean;
  /** Default: stdout, as log4js's stdout appender writes it. */
  readonly sink?: LineSink;
}

/** Buffered lines are written once they reach this many characters, whatever the event loop is doing. */
const MAX_BUFFERED_CHARS = 64 * 1024;

/**
 * The buffer of the process's JSON-lines appender, module state because a process configures logging once
 * and `flushLogs()` must reach it from anywhere (the consumer calls it before committing offsets).
 */
const buffer = {
  text: "",
  sink: undefined as LineSink | undefined,
  flushScheduled: false,
};

/**
 * Writes the buffered log lines now. The consumer calls it before it commits offsets, so every row change
 * whose offset Kafka holds as processed has its line on stdout: a process killed in between repeats the
 * change (at-least-once) instead of losing its line.
 */
export function flushLogs(): void {
  if (buffer.text === "") return;
  const text = buffer.text;
  buffer.text = "";
  buffer.sink?.(text);
}

const flushAtEndOfTurn = (): void => {
  buffer.flushScheduled = false;
  flushLogs();
};

/** The log4js appender writing each event as a JSON line to `sink`, at once or through the buffer. */
function jsonLinesAppender(
  sink: LineSink,
  buffered: boolean,
): log4js.AppenderFunction & {
  shutdown: (done: () => void) => void;
} {
  flushLogs();
  buffer.sink = sink;
  const appender = buffered
    ? (event: log4js.LoggingEvent) => {
        buffer.text += `${formatLogEvent(event)}\n`;
        if (buffer.text.length >= MAX_BUFFERED_CHARS) {
          flushLogs();
        } else if (!buffer.flushScheduled) {
          buffer.flushScheduled = true;
          setImmediate(flushAtEndOfTurn);
        }
      }
    : (event: log4js.LoggingEvent) => {
        sink(`${formatLogEvent(event)}\n`);
      };
  return Object.assign(appender, {
    shutdown(done: () => void) {
      flushLogs();
      done();
    },
  });
}

let flushOnExitRegistered = false;

/**
 * Configures log4js once per process: JSON lines on stdout at the given level. Call it from `main.ts`
 * only; everything else receives a logger.
 */
export function configureLogging(level: LogLevel, options: LoggingOptions = {}): void {
  const sink = options.sink ?? ((chunk: string) => void process.stdout.write(chunk));
  const appender = jsonLinesAppender(sink, options.buffered ?? false);
  log4js.configure({
    appenders: { stdout: { type: { configure: () => appender } } },
    categories: { default: { appenders: ["stdout"], level } },
  });
  if (!flushOnExitRegistered) {
    // Also on an uncaught exception, which ends the process without a shutdown; a SIGKILL loses at most
    // the lines of the turn it interrupts, whose offsets the consumer has not committed.
    process.on("exit", flushLogs);
    flushOnExitRegistered = true;
  }
}

/**
 * kafkajs 2.2.4 arms some of its timers with a delay that can come out negative (a deadline already
 * past), meaning "at once". Node 24 runs such a timer after 1 ms, as kafkajs intends, but emits a
 * TimeoutNegativeWarning each time, e.g. on every `changefeed apply`. Nothing is wrong and there is nothing
 * to do, so it is logged at debug, not warn; a negative timeout anywhere else (the stack names the caller)
 * is still a warning.
 */
const isKafkajsNegativeTimeout = (warning: Error): boolean =>
  warning.name === "TimeoutNegativeWarning" && /[\\/]kafkajs[\\/]/.test(warning.stack ?? "");

/**
 * Logs Node's process warnings (deprecations, negative timeouts ...) as JSON lines, like everything else.
 * Run with NODE_NO_WARNINGS=1 (the images set it) so Node does not also print them as plain text on stderr.
 */
export function logProcessWarnings(logger: log4js.Logger): void {
  process.on("warning", (warning) => {
    const fields = { action: "process_warning", name: warning.name };
    if (isKafkajsNegativeTimeout(warning)) logger.debug(fields, warning.message);
    else logger.warn(fields, warning.message);
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
 * Routes log4js to an in-memory list of JSON lines, formatted and written exactly as in production. For
 * tests that assert on what a service logs.
 */
export function captureLogLines(level: LogLevel = "debug"): { lines: string[]; records: () => LogFields[] } {
  const lines: string[] = [];
  configureLogging(level, {
    sink: (chunk) => {
      lines.push(chunk.slice(0, -1));
    },
  });
  return { lines, records: () => lines.map((line) => JSON.parse(line) as LogFields) };
}

export type Logger = log4js.Logger;
export const getLogger = (category: string): Logger => log4js.getLogger(category);
