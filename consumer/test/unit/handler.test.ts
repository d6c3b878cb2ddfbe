import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { captureLogLines, getLogger, type LogFields } from "@tidbstack/service-kit";
import { createEventHandler, type EventHandler } from "../../src/handler.ts";
import { createConsumerMetrics, type ConsumerMetrics } from "../../src/metrics.ts";
import { parseMessage } from "../../src/parse.ts";
import { RecentKeys } from "../../src/dedup.ts";
import { COMMIT_MS, COMMIT_TS, ddlMessage, rowMessage, watermarkMessage } from "../fixtures.ts";

function eventOf(text: string) {
  const result = parseMessage(Buffer.from(text));
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}

describe("event handler", () => {
  let records: () => LogFields[];
  let lines: string[];
  let metrics: ConsumerMetrics;
  let handle: EventHandler;

  beforeEach(() => {
    ({ records, lines } = captureLogLines("info"));
    metrics = createConsumerMetrics();
    handle = createEventHandler({
      logger: getLogger("consumer"),
      metrics,
      now: () => COMMIT_MS + 1500,
      dedupWindow: 1000,
    });
  });

  const metricValue = async (
    name: string,
    labels: Record<string, string> = {},
  ): Promise<number | undefined> => {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value;
  };

  it("logs one db_change line per row with pk, exact commitTs, lag and redacted sensitive columns", async () => {
    handle(
      eventOf(
        rowMessage({
          data: [
            { id: "1", email: "a@test.com", password_hash: "$scrypt$x" },
            { id: "2", email: "b@test.com", password_hash: "$scrypt$y" },
          ],
        }),
      ),
    );
    assert.deepEqual(records(), [
      {
        timestamp: records()[0]?.["timestamp"],
        level: "info",
        action: "db_change",
        database: "appdb",
        table: "users",
        type: "INSERT",
        pk: { id: "1" },
        commitTs: COMMIT_TS,
        lagMs: 1500,
        data: { id: "1", email: "a@test.com", password_hash: "[REDACTED]" },
      },
      {
        timestamp: records()[1]?.["timestamp"],
        level: "info",
        action: "db_change",
        database: "appdb",
        table: "users",
        type: "INSERT",
        pk: { id: "2" },
        commitTs: COMMIT_TS,
        lagMs: 1500,
        data: { id: "2", email: "b@test.com", password_hash: "[REDACTED]" },
      },
    ]);
    assert.ok(!lines.join("").includes("$scrypt$"));
    assert.equal(
      await metricValue("cdc_events_total", { database: "appdb", table: "users", type: "INSERT" }),
      2,
    );
    assert.equal(await metricValue("cdc_last_commit_timestamp_seconds"), COMMIT_MS / 1000);
  });

  it("redacts every column whose name contains password, token, secret or hash, in data and old", () => {
    const row = {
      id: "1",
      user_password: "p",
      token_hash: "h",
      api_secret: "s",
      refresh_token: "t",
      hashed: "x",
      email: "e",
      revoked_at: null,
      password: null,
    };
    handle(
      eventOf(rowMessage({ type: "UPDATE", table: "tokens", data: [row], old: [{ ...row, email: "old" }] })),
    );
    const [line] = records();
    const redacted = {
      id: "1",
      user_password: "[REDACTED]",
      token_hash: "[REDACTED]",
      api_secret: "[REDACTED]",
      refresh_token: "[REDACTED]",
      hashed: "[REDACTED]",
      email: "e",
      revoked_at: null,
      password: null,
    };
    assert.deepEqual(line?.["data"], redacted);
    assert.deepEqual(line?.["old"], { ...redacted, email: "old" });
  });

  it("skips a redelivered row change (same table, pk and commitTs) and counts it", async () => {
    const message = rowMessage();
    handle(eventOf(message));
    handle(eventOf(message));
    handle(eventOf(rowMessage({ commitTs: "462531487334400002" })));
    assert.equal(records().filter((r) => r["action"] === "db_change").length, 2);
    assert.equal(await metricValue("cdc_duplicates_skipped_total"), 1);
  });

  it("tells rows apart by every primary-key column, also one named __proto__", async () => {
    // JSON.parse makes "__proto__" an ordinary column, as it is in the message.
    const keyed = (id: string) =>
      eventOf(
        rowMessage({
          data: [JSON.parse(`{"__proto__":"${id}","email":"e"}`) as Record<string, string>],
        }).replace('"pkNames":["id"]', '"pkNames":["__proto__"]'),
      );
    handle(keyed("1"));
    handle(keyed("2"));
    handle(keyed("1"));
    assert.equal(records().length, 2);
    assert.equal(await metricValue("cdc_duplicates_skipped_total"), 1);
  });

  it("counts events across scrapes without losing or repeating any", async () => {
    handle(eventOf(rowMessage({ data: [{ id: "1" }] })));
    assert.equal(await metricValue("cdc_events_total", { table: "users", type: "INSERT" }), 1);
    assert.equal(await metricValue("cdc_events_total", { table: "users", type: "INSERT" }), 1);
    handle(eventOf(rowMessage({ data: [{ id: "2" }, { id: "3" }] })));
    handle(eventOf(rowMessage({ type: "DELETE", table: "tokens", data: [{ id: "4" }] })));
    assert.equal(await metricValue("cdc_events_total", { table: "users", type: "INSERT" }), 3);
    assert.equal(await metricValue("cdc_events_total", { table: "tokens", type: "DELETE" }), 1);
    assert.match(
      await metrics.registry.metrics(),
      /^cdc_events_total\{database="appdb",table="users",type="INSERT"\} 3$/m,
    );
  });

  it("logs DDL once as db_ddl and counts it", async () => {
    handle(eventOf(ddlMessage("CREATE TABLE t (id BIGINT PRIMARY KEY)")));
    handle(eventOf(ddlMessage("CREATE TABLE t (id BIGINT PRIMARY KEY)")));
    assert.deepEqual(
      records().map((r) => [r["action"], r["sql"]]),
      [["db_ddl", "CREATE TABLE t (id BIGINT PRIMARY KEY)"]],
    );
    assert.equal(await metricValue("cdc_ddl_total"), 1);
  });

  it("turns watermarks into a metric only, keeping the newest", async () => {
    handle(eventOf(watermarkMessage(COMMIT_TS)));
    handle(eventOf(watermarkMessage("462531487072256000")));
    assert.equal(records().length, 0);
    assert.equal(await metricValue("cdc_last_watermark_timestamp_seconds"), COMMIT_MS / 1000);
  });
});

describe("the window of recent keys", () => {
  it("forgets the oldest key once full, so memory stays bounded", () => {
    const keys = new RecentKeys(2);
    assert.equal(keys.firstSeen("a"), true);
    assert.equal(keys.firstSeen("b"), true);
    assert.equal(keys.firstSeen("a"), false);
    assert.equal(keys.firstSeen("c"), true);
    assert.equal(keys.size, 2);
    assert.equal(keys.firstSeen("a"), true, "a was evicted");
  });

  it("keeps exactly the last `capacity` keys however often the window wraps around", () => {
    const keys = new RecentKeys(3);
    for (let i = 0; i < 10; i++) assert.equal(keys.firstSeen(String(i)), true);
    assert.equal(keys.size, 3);
    for (const recent of ["7", "8", "9"])
      assert.equal(keys.firstSeen(recent), false, `${recent} is remembered`);
    assert.equal(keys.firstSeen("6"), true, "6 was forgotten");
    assert.equal(keys.firstSeen("7"), true, "7 was the oldest, forgotten for 6");
    assert.equal(keys.firstSeen("9"), false);
  });
});

describe("consumer metrics", () => {
  it("export every DLQ reason at 0 before the first dead letter, so increase() sees the first one", async () => {
    const text = await createConsumerMetrics().registry.metrics();
    for (const reason of ["empty", "too_large", "not_json", "invalid_event", "handler_error"]) {
      assert.match(text, new RegExp(`^cdc_dlq_messages_total\\{reason="${reason}"\\} 0$`, "m"));
    }
  });
});
