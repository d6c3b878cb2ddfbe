import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { handlerErrorDetail } from "../../src/consumer.ts";
import { parseMessage } from "../../src/parse.ts";
import { rowMessage } from "../fixtures.ts";

/**
 * A dead letter's reason and detail go into Kafka headers and a log line; the poison message itself stays
 * only in the dead letter's value. Generated poison messages carry a marker wherever content can be, and
 * no piece of it may come back in the detail.
 */
const MARKER = "zqxjv";
/** Pieces of the marker long enough to mean "the input was quoted" (JSON.parse quotes ten characters). */
const PIECES = [MARKER, ...Array.from({ length: MARKER.length - 2 }, (_, i) => MARKER.slice(i, i + 3))];

function assertQuotesNothing(detail: string, input: string): void {
  for (const piece of PIECES) {
    assert.ok(!detail.includes(piece), `the detail ${JSON.stringify(detail)} quotes the input ${input}`);
  }
}

/** A string that contains the marker somewhere. */
const marked = fc
  .tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }))
  .map(([before, after]) => `${before}${MARKER}${after}`);

/** JSON in which every string and key carries the marker. */
const { markedJson } = fc.letrec<{ markedJson: unknown }>((tie) => ({
  markedJson: fc.oneof(
    { depthSize: "small" },
    marked,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("markedJson"), { maxLength: 3 }),
    fc.dictionary(marked, tie("markedJson"), { maxKeys: 3, noNullPrototype: true }),
  ),
}));

const FIELDS = ["type", "isDdl", "database", "table", "pkNames", "data", "old", "es", "sql", "_tidb"];

/** A valid row event with fields replaced by marked values, or its rows given marked columns. */
const damagedEvent = fc
  .record({
    replaced: fc.array(fc.record({ key: fc.constantFrom(...FIELDS), value: markedJson }), { maxLength: 3 }),
    column: fc.option(fc.record({ name: marked, value: markedJson }), { nil: undefined }),
  })
  .map(({ replaced, column }) => {
    const message = JSON.parse(rowMessage()) as Record<string, unknown>;
    for (const { key, value } of replaced) message[key] = value;
    if (column !== undefined) message["data"] = [{ id: "1", [column.name]: column.value }];
    return JSON.stringify(message);
  });

/** Text that is not JSON, or JSON cut short, with the marker at its start, middle or end. */
const brokenText = fc.oneof(
  marked,
  marked.map((text) => `{"type":${text}`),
  fc.tuple(marked, fc.nat()).map(([text, cut]) => {
    const json = rowMessage({ data: [{ id: "1", note: text }] });
    return json.slice(0, cut % json.length);
  }),
  fc
    .tuple(marked, fc.constantFrom("{", "[", '{"a":', "tru", "-", "1e", '"\\u00'))
    .map(([text, start]) => start + text),
);

describe("dead-letter details on generated poison messages", () => {
  it("never quote the message that was rejected", () => {
    fc.assert(
      fc.property(fc.oneof(damagedEvent, brokenText), (text) => {
        const result = parseMessage(Buffer.from(text, "utf8"));
        if (!result.ok) assertQuotesNothing(result.detail, text);
      }),
      { numRuns: 3000 },
    );
  });

  it("name the error type, never the message, when the handler throws", () => {
    const thrown = fc.oneof(
      marked.map((message) => new Error(message)),
      marked.map((message) => new TypeError(message)),
      marked.map((message) => Object.assign(new Error(message), { name: message })),
      marked,
      markedJson,
    );
    fc.assert(
      fc.property(thrown, (error) => {
        const detail = handlerErrorDetail(error);
        assert.match(detail, /^the event handler threw [A-Za-z ]+$/);
        assertQuotesNothing(detail, String(error));
      }),
    );
  });

  it("still say what is wrong: where the JSON breaks, which field is invalid", () => {
    const notJson = parseMessage(Buffer.from(`{"type":${MARKER}}`));
    assert.deepEqual(notJson, {
      ok: false,
      reason: "not_json",
      detail: "the value is not valid JSON",
    });
    const truncated = parseMessage(Buffer.from('{"type":'));
    assert.equal(!truncated.ok && truncated.detail, "the value is not valid JSON: it ends too early");
    const badCharacter = parseMessage(Buffer.from('{"a":1}x'));
    assert.equal(
      !badCharacter.ok && badCharacter.detail,
      "the value is not valid JSON: syntax error at character 7",
    );
    const column = parseMessage(Buffer.from(rowMessage({ data: [{ id: "1", [MARKER]: 5 } as never] })));
    assert.equal(!column.ok && column.detail, "data[0], column 2: a value must be a string or null");
  });
});
