import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type log4js from "log4js";
import { spawnSync } from "node:child_process";
import { setImmediate as endOfTurn } from "node:timers/promises";
import {
  captureLogLines,
  configureLogging,
  flushLogs,
  formatLogEvent,
  getLogger,
  logProcessWarnings,
  shutdownLogging,
} from "../../src/index.ts";

/** The parts of a log4js event the layout reads. */
const eventAt = (millis: number, ...data: unknown[]): log4js.LoggingEvent =>
  ({ startTime: new Date(millis), level: { levelStr: "INFO" }, data }) as unknown as log4js.LoggingEvent;

describe("JSON log layout", () => {
  it("writes one JSON object per line with an ISO timestamp, a lower-case level and the event's fields", () => {
    const capture = captureLogLines();
    getLogger("t").info({ action: "login", userId: 7 });
    assert.equal(capture.lines.length, 1);
    const [line] = capture.lines as [string];
    assert.ok(!line.includes("\n"));
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), ["timestamp", "level", "action", "userId"]);
    assert.equal(record["level"], "info");
    assert.equal(new Date(String(record["timestamp"])).toISOString(), record["timestamp"]);
  });

  it("joins strings into msg, serialises errors with their stack, and prints BigInt exactly", () => {
    const capture = captureLogLines();
    const error = Object.assign(new Error("boom"), { code: "EBOOM" });
    getLogger("t").error({ commitTs: 462712345940000001n }, "it", "failed", error);
    const record = capture.records()[0] as Record<string, unknown>;
    assert.equal(record["msg"], "it failed");
    assert.equal(record["commitTs"], "462712345940000001");
    const err = record["err"] as Record<string, unknown>;
    assert.equal(err["message"], "boom");
    assert.equal(err["code"], "EBOOM");
    assert.match(String(err["stack"]), /Error: boom/);
  });

  it("does not let event fields overwrite timestamp or level", () => {
    const capture = captureLogLines();
    getLogger("t").warn({ level: "info", timestamp: "forged" });
    const record = capture.records()[0] as Record<string, unknown>;
    assert.equal(record["level"], "warn");
    assert.notEqual(record["timestamp"], "forged");
  });

  it("writes a line of one object of fields exactly as the general path would", () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const cases: [unknown[], Record<string, unknown>][] = [
      [[{}], {}],
      [
        [{ a: 1, nested: { b: [1, "x", null] }, skipped: undefined }],
        { a: 1, nested: { b: [1, "x", null] } },
      ],
      [[{ when: new Date(0) }], { when: "1970-01-01T00:00:00.000Z" }],
      // Not a literal object: its own fields (none), like every other object.
      [[new Date(0)], {}],
      [[new Map([["k", 1]])], {}],
      [[{ toJSON: () => "replaced", kept: 1 }], { kept: 1 }],
      [[{ big: 1n }], { big: "1" }],
      [[{ level: "x", kept: 1 }], { kept: 1 }],
    ];
    for (const [data, fields] of cases) {
      const line = formatLogEvent(eventAt(at, ...data));
      assert.deepEqual(JSON.parse(line), { timestamp: "2026-01-02T03:04:05.006Z", level: "info", ...fields });
      assert.ok(line.startsWith('{"timestamp":"2026-01-02T03:04:05.006Z","level":"info"'), line);
    }
    const withError = JSON.parse(formatLogEvent(eventAt(at, { failure: new Error("boom") }))) as {
      failure: { message: string; stack: string };
    };
    assert.equal(withError.failure.message, "boom");
    assert.match(withError.failure.stack, /Error: boom/);
  });

  it("gives every line its own event's timestamp, also when lines alternate between milliseconds", () => {
    for (const millis of [0, 1, 1, 0, 86_400_000]) {
      const record = JSON.parse(formatLogEvent(eventAt(millis, { n: 1 }))) as { timestamp: string };
      assert.equal(record.timestamp, new Date(millis).toISOString());
    }
  });

  it("respects the configured level", () => {
    const capture = captureLogLines("warn");
    getLogger("t").info({ action: "hidden" });
    getLogger("t").warn({ action: "shown" });
    assert.deepEqual(
      capture.records().map((r) => r["action"]),
      ["shown"],
    );
  });
});

describe("process warnings", () => {
  const warnings = async (emit: () => void): Promise<Record<string, unknown>[]> => {
    const capture = captureLogLines();
    const others = process.listeners("warning");
    logProcessWarnings(getLogger("t"));
    emit();
    await new Promise((resolve) => setImmediate(resolve));
    for (const listener of process.listeners("warning"))
      if (!others.includes(listener)) process.removeListener("warning", listener);
    return capture.records().filter((r) => r["action"] === "process_warning");
  };

  it("are logged as JSON lines at warn", async () => {
    const lines = await warnings(() => {
      process.emitWarning("something odd", "DeprecationWarning");
    });
    assert.deepEqual(
      lines.map((r) => [r["level"], r["name"], r["msg"]]),
      [["warn", "DeprecationWarning", "something odd"]],
    );
  });

  it("a negative timeout set by this code is still a warning", async () => {
    const lines = await warnings(() => {
      clearTimeout(setTimeout(() => undefined, -5));
    });
    assert.deepEqual(
      lines.map((r) => [r["level"], r["name"]]),
      [["warn", "TimeoutNegativeWarning"]],
    );
  });

  it("kafkajs's negative timeouts (harmless on Node 24) are logged at debug, not as warnings", async () => {
    // As Node raises it from a timer kafkajs arms: the stack runs through kafkajs's own files.
    const warning = new Error("-3 is a negative number.\nTimeout duration was set to 1.");
    warning.name = "TimeoutNegativeWarning";
    warning.stack = `${warning.name}: ${warning.message}\n    at new Timeout (node:internal/timers:195:17)\n    at setTimeout (node:timers:120:19)\n    at RequestQueue.scheduleCheckPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:288:25)`;
    const lines = await warnings(() => {
      process.emitWarning(warning);
    });
    assert.deepEqual(
      lines.map((r) => [r["level"], r["name"]]),
      [["debug", "TimeoutNegativeWarning"]],
    );
  });
});

describe("buffered logging", () => {
  /** Configures buffered logging into a list of the chunks written. */
  const buffered = (): string[] => {
    const chunks: string[] = [];
    configureLogging("info", {
      buffered: true,
      sink: (chunk) => {
        chunks.push(chunk);
      },
    });
    return chunks;
  };

  it("holds lines until the end of the event loop's turn, then writes them in one chunk, in order", async () => {
    const chunks = buffered();
    for (let n = 1; n <= 3; n++) getLogger("t").info({ n });
    assert.equal(chunks.length, 0);
    await endOfTurn();
    assert.equal(chunks.length, 1);
    const lines = (chunks[0] ?? "").split("\n");
    assert.equal(lines.pop(), "", "every line ends with a newline");
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { n: number }).n),
      [1, 2, 3],
    );
  });

  it("writes what it holds at once on flushLogs(), and then nothing more at the end of the turn", async () => {
    const chunks = buffered();
    getLogger("t").info({ n: 1 });
    flushLogs();
    assert.equal(chunks.length, 1);
    await endOfTurn();
    assert.equal(chunks.length, 1);
  });

  it("writes at once when 64 KiB have gathered, whatever the event loop is doing", () => {
    const chunks = buffered();
    const filler = "x".repeat(1000);
    for (let n = 0; n < 70; n++) getLogger("t").info({ n, filler });
    assert.equal(chunks.length, 1);
    assert.ok((chunks[0] ?? "").length >= 64 * 1024);
    flushLogs();
    assert.equal(chunks.join("").split("\n").length - 1, 70);
  });

  it("writes what it holds on shutdownLogging()", async () => {
    const chunks = buffered();
    getLogger("t").info({ n: 1 });
    await shutdownLogging();
    assert.equal(chunks.length, 1);
  });

  it("writes what it holds when the process dies of an uncaught exception", () => {
    const script = `
      import { configureLogging, getLogger } from "@tidbstack/service-kit";
      configureLogging("info", { buffered: true });
      getLogger("t").info({ action: "last_words" });
      throw new Error("crash");
    `;
    const child = spawnSync(
      process.execPath,
      ["--conditions=source", "--input-type=module", "--eval", script],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.notEqual(child.status, 0);
    assert.match(child.stdout, /"action":"last_words"/);
  });

  it("unbuffered, writes every line at once", () => {
    const chunks: string[] = [];
    configureLogging("info", {
      sink: (chunk) => {
        chunks.push(chunk);
      },
    });
    getLogger("t").info({ n: 1 });
    getLogger("t").info({ n: 2 });
    assert.equal(chunks.length, 2);
  });
});
