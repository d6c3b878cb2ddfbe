import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureLogLines, getLogger, kafkajsLogCreator } from "../../src/index.ts";

describe("kafkajs log bridge", () => {
  it("logs kafkajs entries as JSON lines at the matching level, without kafkajs's own timestamp and logger", () => {
    const capture = captureLogLines();
    const log = kafkajsLogCreator(getLogger("t"))(2);
    // The shape kafkajs 2.2.4 passes (src/loggers/index.js): levels ERROR 1, WARN 2, INFO 4, DEBUG 5.
    const entry = (level: number, message: string) => ({
      namespace: "Connection",
      level,
      label: "X",
      log: { timestamp: "2025-01-01T00:00:00.000Z", logger: "kafkajs", message, broker: "kafka:19092" },
    });
    log(entry(1, "broken"));
    log(entry(2, "slow"));
    log(entry(4, "connected"));
    log(entry(5, "bytes"));
    const records = capture.records();
    assert.deepEqual(
      records.map((r) => [r["level"], r["msg"]]),
      [
        ["error", "broken"],
        ["warn", "slow"],
        ["info", "connected"],
        ["debug", "bytes"],
      ],
    );
    assert.equal(records[0]?.["component"], "kafkajs");
    assert.equal(records[0]?.["namespace"], "Connection");
    assert.equal(records[0]?.["broker"], "kafka:19092");
    assert.notEqual(records[0]?.["timestamp"], "2025-01-01T00:00:00.000Z");
    assert.equal(records[0]?.["logger"], undefined);
  });
});
