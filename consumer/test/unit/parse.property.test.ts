import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  REJECT_REASONS,
  type CdcEvent,
  type ParseResult,
  type Row,
  type RowEvent,
} from "../../src/events.ts";
import { parseMessage } from "../../src/parse.ts";

/**
 * Generated input for the canal-json parser: arbitrary bytes, arbitrary JSON, valid events with arbitrary
 * damage, and valid events that must come back exactly as they were written.
 */

const parse = (text: string): ParseResult => parseMessage(Buffer.from(text, "utf8"));

/** A TiDB TSO: any unsigned 64-bit integer, most of them far beyond 2^53. */
const tso = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const name = fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" });
/** Rows built with Object.fromEntries, as JSON.parse builds them (a "__proto__" column is an own property). */
const row = (columns: readonly string[]): fc.Arbitrary<Row> =>
  fc
    .tuple(...columns.map(() => fc.option(fc.string({ maxLength: 20, unit: "grapheme" }), { nil: null })))
    .map((values) => Object.fromEntries(columns.map((column, i) => [column, values[i] ?? null])));

const rowEvent: fc.Arbitrary<RowEvent> = fc
  .record({
    database: name,
    table: name,
    type: fc.constantFrom("INSERT", "UPDATE", "DELETE" as const),
    columns: fc.uniqueArray(fc.string({ maxLength: 10, unit: "grapheme" }), { minLength: 1, maxLength: 5 }),
    count: fc.integer({ min: 1, max: 3 }),
    pkCount: fc.nat({ max: 2 }),
    commitTimeMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    commitTs: tso,
  })
  .chain(({ columns, count, pkCount, ...event }) =>
    fc
      .record({
        rows: fc.array(row(columns), { minLength: count, maxLength: count }),
        old: fc.array(row(columns), { minLength: count, maxLength: count }),
      })
      .map(({ rows, old }): RowEvent => ({
        kind: "row",
        ...event,
        pkNames: columns.slice(0, pkCount),
        rows,
        old: event.type === "UPDATE" ? old : null,
      })),
  );

const ddlEvent: fc.Arbitrary<CdcEvent> = fc.record(
  {
    kind: fc.constant("ddl" as const),
    database: name,
    table: fc.oneof(fc.constant(""), name),
    type: fc.constantFrom("CREATE", "ALTER", "ERASE", "TRUNCATE", "RENAME", "CINDEX", "DINDEX", "QUERY"),
    sql: fc.string({ maxLength: 60, unit: "grapheme" }),
    commitTs: tso,
  },
  { noNullPrototype: true },
);

const watermarkEvent: fc.Arbitrary<CdcEvent> = fc.record(
  { kind: fc.constant("watermark" as const), watermarkTs: tso },
  { noNullPrototype: true },
);

const anyEvent = fc.oneof(rowEvent, ddlEvent, watermarkEvent);

/**
 * An event as TiCDC writes it in canal-json with `enable-tidb-extension=true`: every field present, the TSO
 * a bare JSON number in `_tidb`, which comes last.
 */
function serialize(event: CdcEvent): string {
  const common = { id: 0, sqlType: null, mysqlType: null, ts: 0 };
  let body: Record<string, unknown>;
  let tidb: string;
  switch (event.kind) {
    case "row":
      body = {
        ...common,
        database: event.database,
        table: event.table,
        pkNames: event.pkNames.length === 0 ? null : event.pkNames,
        isDdl: false,
        type: event.type,
        es: event.commitTimeMs,
        sql: "",
        data: event.rows,
        old: event.old,
      };
      tidb = `{"commitTs":${event.commitTs}}`;
      break;
    case "ddl":
      body = {
        ...common,
        database: event.database,
        table: event.table,
        pkNames: null,
        isDdl: true,
        type: event.type,
        es: 0,
        sql: event.sql,
        data: null,
        old: null,
      };
      tidb = `{"commitTs":${event.commitTs}}`;
      break;
    case "watermark":
      body = { ...common, database: "", table: "", isDdl: false, type: "TIDB_WATERMARK", es: 0, data: null };
      tidb = `{"watermarkTs":${event.watermarkTs}}`;
      break;
  }
  return `${JSON.stringify(body).slice(0, -1)},"_tidb":${tidb}}`;
}

/** The parser's contract for any input: an event, or one of the typed reasons with a non-empty detail. */
function assertEventOrTypedRejection(result: ParseResult): void {
  if (result.ok) return;
  assert.ok(REJECT_REASONS.includes(result.reason), `unknown reason ${result.reason}`);
  assert.equal(typeof result.detail, "string");
  assert.ok(result.detail.length > 0);
}

describe("parseMessage on generated input", () => {
  it("turns any bytes into an event or a typed rejection, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        assertEventOrTypedRejection(parseMessage(Buffer.from(bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it("turns any JSON document into an event or a typed rejection, never a throw", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (json) => {
        assertEventOrTypedRejection(parse(JSON.stringify(json) ?? "null"));
      }),
      { numRuns: 2000 },
    );
  });

  it("turns a valid event with any field replaced, removed or added into an event or a typed rejection", () => {
    const damage = fc.record({
      key: fc.oneof(
        fc.constantFrom("type", "isDdl", "database", "table", "pkNames", "data", "old", "es", "sql", "_tidb"),
        fc.string({ maxLength: 8 }),
      ),
      value: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(anyEvent, fc.array(damage, { minLength: 1, maxLength: 3 }), (event, damages) => {
        const message = JSON.parse(serialize(event)) as Record<string, unknown>;
        for (const { key, value } of damages) {
          if (value === undefined) Reflect.deleteProperty(message, key);
          else message[key] = value;
        }
        assertEventOrTypedRejection(parse(JSON.stringify(message)));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads back every valid event exactly as written, TSOs included to the last digit", () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const result = parse(serialize(event));
        if (!result.ok) assert.fail(`rejected as ${result.reason}: ${result.detail}`);
        assert.deepStrictEqual(result.event, event);
      }),
      { numRuns: 2000 },
    );
  });

  it("takes the TSO from the top-level _tidb, whatever other fields or keys named like it carry", () => {
    // The parser reads the TSO's digits from the source text, so the dangerous extras are objects shaped
    // like the extension, under keys that contain the text "_tidb", holding a TSO so close to the real one
    // that both are the same JSON number once parsed.
    const lookalike = fc.record({
      key: fc.oneof(fc.constantFrom("_tidb", 'x"_tidb', "_tidb\\", "y\\"), fc.string({ maxLength: 6 })),
      near: fc.boolean(),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    fc.assert(
      fc.property(anyEvent, fc.array(lookalike, { minLength: 1, maxLength: 3 }), (event, extras) => {
        const text = serialize(event);
        const [, field, digits] = /"(commitTs|watermarkTs)":(\d+)\}\}$/.exec(text) ?? [];
        const members = extras.map(({ key, near, value }) => {
          const forged = `{"${field ?? ""}":${BigInt(digits ?? "0") + 1n}}`;
          return { key, text: `${JSON.stringify(key)}:${near ? forged : JSON.stringify(value)}` };
        });
        const nested = members.map((member) => member.text).join(",");
        // A second top-level "_tidb" would legitimately replace the first (JSON's last key wins).
        const topLevel = members.filter(({ key }) => key !== "_tidb").map((member) => member.text);
        // Nested where TiCDC writes sqlType (before _tidb) and after _tidb, as a hand-made message might;
        // and as top-level members after _tidb.
        for (const variant of [
          text.replace('"sqlType":null', `"sqlType":{${nested}}`),
          `${text.slice(0, -1)},"mysqlType":{${nested}}}`,
          `${text.slice(0, -1)}${topLevel.map((member) => `,${member}`).join("")}}`,
        ]) {
          const result = parse(variant);
          assertEventOrTypedRejection(result);
          if (result.ok) assert.deepStrictEqual(result.event, event, variant);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
