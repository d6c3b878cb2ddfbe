import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tsoToMillis } from "../../src/events.ts";
import { MAX_MESSAGE_BYTES, parseMessage } from "../../src/parse.ts";
import { COMMIT_MS, COMMIT_TS, ddlMessage, rowMessage, watermarkMessage } from "../fixtures.ts";

const parse = (text: string) => parseMessage(Buffer.from(text, "utf8"));

function parsed(text: string) {
  const result = parse(text);
  if (!result.ok) assert.fail(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

describe("parseMessage (canal-json with the TiDB extension)", () => {
  it("reads an INSERT with its database, table, primary key, rows and commit time", () => {
    assert.deepEqual(parsed(rowMessage()), {
      kind: "row",
      database: "appdb",
      table: "users",
      type: "INSERT",
      pkNames: ["id"],
      rows: [{ id: "1", email: "admin@test.com", password_hash: "$scrypt$secret" }],
      old: null,
      commitTimeMs: COMMIT_MS,
      commitTs: COMMIT_TS,
    });
  });

  it("keeps commitTs exact beyond 2^53 (a JSON number would round it)", () => {
    const event = parsed(rowMessage({ commitTs: "18446744073709551615" }));
    assert.equal(event.kind === "row" && event.commitTs, "18446744073709551615");
    assert.notEqual(String(Number(COMMIT_TS)), COMMIT_TS, "the fixture really is beyond 2^53");
    assert.equal((parsed(rowMessage()) as { commitTs: string }).commitTs, COMMIT_TS);
  });

  it("reads an UPDATE with its old rows, and multi-row events", () => {
    const event = parsed(
      rowMessage({
        type: "UPDATE",
        data: [
          { id: "1", email: "new@test.com" },
          { id: "2", email: "b2@test.com" },
        ],
        old: [
          { id: "1", email: "old@test.com" },
          { id: "2", email: "b1@test.com" },
        ],
      }),
    );
    assert.equal(event.kind, "row");
    if (event.kind !== "row") return;
    assert.equal(event.rows.length, 2);
    assert.deepEqual(event.old, [
      { id: "1", email: "old@test.com" },
      { id: "2", email: "b1@test.com" },
    ]);
  });

  it("reads a DELETE, whose data holds the deleted row", () => {
    const event = parsed(rowMessage({ type: "DELETE", data: [{ id: "9", email: "gone@test.com" }] }));
    assert.equal(event.kind === "row" && event.type, "DELETE");
    assert.equal(event.kind === "row" && event.rows[0]?.["id"], "9");
  });

  it("keeps SQL NULL as null and unicode as it was", () => {
    const event = parsed(rowMessage({ data: [{ id: "1", email: null, name: "Zoë 日本語 🚀" }] }));
    assert.deepEqual(event.kind === "row" && event.rows[0], { id: "1", email: null, name: "Zoë 日本語 🚀" });
  });

  it("reads DDL with its statement", () => {
    assert.deepEqual(parsed(ddlMessage("ALTER TABLE users ADD COLUMN x INT")), {
      kind: "ddl",
      database: "appdb",
      table: "t",
      type: "CREATE",
      sql: "ALTER TABLE users ADD COLUMN x INT",
      commitTs: COMMIT_TS,
    });
  });

  it("reads watermarks with their exact TSO, whose physical part is the commit time", () => {
    assert.deepEqual(parsed(watermarkMessage()), { kind: "watermark", watermarkTs: COMMIT_TS });
    assert.equal(tsoToMillis(COMMIT_TS), COMMIT_MS);
  });

  const malformed: [string, Buffer | null, string][] = [
    ["a null value (tombstone)", null, "empty"],
    ["an empty value", Buffer.alloc(0), "empty"],
    ["text that is not JSON", Buffer.from("hello"), "not_json"],
    ["truncated JSON", Buffer.from(rowMessage().slice(0, 40)), "not_json"],
    ["a JSON array", Buffer.from("[1,2]"), "invalid_event"],
    ["a JSON string", Buffer.from('"INSERT"'), "invalid_event"],
    ["an event without a type", Buffer.from('{"isDdl":false,"data":[]}'), "invalid_event"],
    [
      "an unknown row type",
      Buffer.from(rowMessage().replace('"type":"INSERT"', '"type":"UPSERT"')),
      "invalid_event",
    ],
    ["a row event with no rows", Buffer.from(rowMessage({ data: [] })), "invalid_event"],
    ["a row with a numeric value", Buffer.from(rowMessage().replace('"id":"1"', '"id":1')), "invalid_event"],
    ["an UPDATE without old rows", Buffer.from(rowMessage({ type: "UPDATE" })), "invalid_event"],
    [
      "a commitTs given as a string of letters",
      Buffer.from(rowMessage().replace(`"commitTs":${COMMIT_TS}`, '"commitTs":"abc"')),
      "invalid_event",
    ],
    [
      "a missing commitTs",
      Buffer.from(rowMessage().replace(`,"_tidb":{"commitTs":${COMMIT_TS}}`, "")),
      "invalid_event",
    ],
    ["a negative commit time", Buffer.from(rowMessage({ es: -5 })), "invalid_event"],
    ["an empty table name", Buffer.from(rowMessage({ table: "" })), "invalid_event"],
    [
      "a watermark without its TSO",
      Buffer.from(watermarkMessage().replace(`"watermarkTs":${COMMIT_TS}`, '"x":1')),
      "invalid_event",
    ],
    ["a value over the size limit", Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20), "too_large"],
  ];
  for (const [what, value, reason] of malformed) {
    it(`rejects ${what} as ${reason}, without throwing`, () => {
      const result = parseMessage(value);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.reason, reason);
        assert.ok(result.detail.length > 0);
      }
    });
  }

  it("parses a large but legal value (a 900 KiB row)", () => {
    const event = parsed(rowMessage({ data: [{ id: "1", blob: "x".repeat(900 * 1024) }] }));
    assert.equal(event.kind === "row" && event.rows[0]?.["blob"]?.length, 900 * 1024);
  });
});
