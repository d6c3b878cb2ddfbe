import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { captureLogLines, getLogger } from "@tidbstack/service-kit";
import { createEventHandler } from "../../src/handler.ts";
import { createConsumerMetrics } from "../../src/metrics.ts";
import { parseMessage } from "../../src/parse.ts";
import { REDACTED, redactRow } from "../../src/redact.ts";

/**
 * Generated change events in which some columns are sensitive (their name contains password, token,
 * secret or hash, in any case, anywhere in the name), go through the parser and the handler as the
 * consumer runs them; no value of a sensitive column may appear in any log line the handler writes,
 * whether the column is in the new rows, the old rows, the primary key, or a duplicate's debug line.
 */

const SENSITIVE_WORDS = ["password", "token", "secret", "hash"];
const identifierPart = fc.string({
  unit: fc.constantFrom(...Array.from("abcdefgxyz_ABCXYZ0129.-é日 ")),
  maxLength: 6,
});
/** A column name with a sensitive word in it, in random case, with anything before and after it. */
const sensitiveName = fc
  .tuple(identifierPart, fc.mixedCase(fc.constantFrom(...SENSITIVE_WORDS)), identifierPart)
  .map(([before, word, after]) => `${before}${word}${after}`);
const plainName = identifierPart
  .filter((name) => !/password|token|secret|hash/i.test(name))
  .map((name) => `c_${name}`);
/** Secret values are recognisable: nothing else the test generates or the handler writes contains "sv-". */
const secretValue = fc.stringMatching(/^[0-9a-f]{6,12}$/).map((hex) => `sv-${hex}-sv`);
const plainValue = fc.string({ unit: fc.constantFrom(...Array.from('ABCDEFG 0123{}":')), maxLength: 8 });

const columnSet = fc
  .record({
    sensitive: fc.uniqueArray(sensitiveName, { minLength: 1, maxLength: 3 }),
    plain: fc.uniqueArray(plainName, { maxLength: 3 }),
  })
  .filter(
    ({ sensitive, plain }) => new Set([...sensitive, ...plain]).size === sensitive.length + plain.length,
  );

type Row = Record<string, string | null>;

const row = (sensitive: readonly string[], plain: readonly string[]): fc.Arbitrary<Row> =>
  fc
    .tuple(
      fc.array(fc.option(secretValue, { nil: null, freq: 4 }), {
        minLength: sensitive.length,
        maxLength: sensitive.length,
      }),
      fc.array(plainValue, { minLength: plain.length, maxLength: plain.length }),
    )
    .map(([secrets, values]): Row =>
      Object.fromEntries<string | null>([
        ...sensitive.map((name, i): [string, string | null] => [name, secrets[i] ?? null]),
        ...plain.map((name, i): [string, string] => [name, values[i] ?? ""]),
      ]),
    );

/** A canal-json message as TiCDC writes it, with the columns above and a key drawn from any of them. */
const message = columnSet.chain(({ sensitive, plain }) =>
  fc
    .record({
      type: fc.constantFrom("INSERT", "UPDATE", "DELETE"),
      rows: fc.array(row(sensitive, plain), { minLength: 1, maxLength: 3 }),
      pkNames: fc.subarray([...sensitive, ...plain], {
        maxLength: Math.min(2, sensitive.length + plain.length),
      }),
      commitTs: fc.bigInt({ min: 1n, max: 2n ** 63n }),
    })
    .chain(({ rows, ...rest }) =>
      fc
        .array(row(sensitive, plain), { minLength: rows.length, maxLength: rows.length })
        .map((old) => ({ ...rest, rows, old })),
    )
    .map(({ type, rows, old, pkNames, commitTs }) => {
      const body = {
        id: 0,
        database: "appdb",
        table: "t",
        pkNames: pkNames.length === 0 ? null : pkNames,
        isDdl: false,
        type,
        es: 1_764_417_600_000,
        ts: 1_764_417_600_001,
        sql: "",
        sqlType: null,
        mysqlType: null,
        data: rows,
        old: type === "UPDATE" ? old : null,
      };
      const secrets = [...rows, ...(type === "UPDATE" ? old : [])].flatMap((r) =>
        sensitive.map((name) => r[name]).filter((value) => value !== null && value !== undefined),
      );
      return { text: `${JSON.stringify(body).slice(0, -1)},"_tidb":{"commitTs":${commitTs}}}`, secrets };
    }),
);

describe("redaction on generated events", () => {
  it("never writes a sensitive column's value, whatever the column's case or place in the event", () => {
    const { lines } = captureLogLines("debug");
    const metrics = createConsumerMetrics();
    let redactedSeen = 0;
    fc.assert(
      fc.property(message, ({ text, secrets }) => {
        lines.length = 0;
        const result = parseMessage(Buffer.from(text));
        if (!result.ok) assert.fail(`the generated event was rejected: ${result.detail}`);
        // Twice: the redelivery is dropped with a debug line that names its primary key.
        const handle = createEventHandler({ logger: getLogger("consumer"), metrics });
        handle(result.event);
        handle(result.event);
        const output = lines.join("\n");
        for (const secret of secrets) {
          assert.ok(!output.includes(secret), `${secret} reached the log:\n${output}`);
        }
        assert.ok(!output.includes("sv-"), `part of a secret reached the log:\n${output}`);
        // A row may be dropped as a duplicate of another in the same event (same key), so this is counted.
        if (output.includes(`"${REDACTED}"`)) redactedSeen++;
      }),
      { numRuns: 1000 },
    );
    assert.ok(redactedSeen > 500, `only ${redactedSeen} of 1000 runs logged a redacted column`);
  });
});

describe("redacting one row", () => {
  it("returns the row itself when nothing in it is sensitive, and a copy when something is", () => {
    const plain = { id: "1", email: "a@test.com" };
    assert.equal(redactRow(plain), plain);
    const sensitive = { id: "1", password_hash: "h", api_token: null };
    const redacted = redactRow(sensitive);
    assert.notEqual(redacted, sensitive);
    assert.deepEqual(redacted, { id: "1", password_hash: REDACTED, api_token: null });
    assert.equal(sensitive.password_hash, "h", "the event's own row is left as it is");
  });

  it("keeps a column named __proto__ as a column in the copy", () => {
    const row = JSON.parse('{"__proto__":"x","password":"p"}') as Record<string, string>;
    const redacted = redactRow(row);
    assert.deepEqual(Object.keys(redacted), ["__proto__", "password"]);
    assert.equal(JSON.stringify(redacted), `{"__proto__":"x","password":"${REDACTED}"}`);
  });
});
