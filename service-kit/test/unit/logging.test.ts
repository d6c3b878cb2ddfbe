import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureLogLines, getLogger, logProcessWarnings } from "../../src/index.ts";

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
  it("are logged as JSON lines", async () => {
    const capture = captureLogLines();
    logProcessWarnings(getLogger("t"));
    process.emitWarning("something odd", "TimeoutNegativeWarning");
    await new Promise((resolve) => setImmediate(resolve));
    const line = capture.records().find((r) => r["action"] === "process_warning");
    assert.equal(line?.["name"], "TimeoutNegativeWarning");
    assert.equal(line?.["msg"], "something odd");
  });
});
