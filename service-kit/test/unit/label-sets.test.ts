import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LabelSetTable } from "../../src/index.ts";

describe("a table of label sets", () => {
  const table = () => {
    let created = 0;
    const sets = new LabelSetTable((a: string, b: string, c: number) => {
      created++;
      return { labels: { a, b, c: String(c) }, count: 0 };
    });
    return { sets, created: () => created };
  };

  it("makes each label set's entry once and finds the same entry after", () => {
    const { sets, created } = table();
    const first = sets.entry("x", "y", 1);
    assert.equal(sets.entry("x", "y", 1), first);
    assert.notEqual(sets.entry("x", "y", 2), first);
    assert.notEqual(sets.entry("x", "z", 1), first);
    assert.equal(created(), 3);
  });

  it("hands over each non-zero count once, with its labels, and counts again from zero", () => {
    const { sets } = table();
    sets.entry("x", "y", 1).count += 3;
    sets.entry("x", "y", 2);
    const flush = (): [unknown, number][] => {
      const flushed: [unknown, number][] = [];
      sets.flushCounts((labels, count) => flushed.push([labels, count]));
      return flushed;
    };
    assert.deepEqual(flush(), [[{ a: "x", b: "y", c: "1" }, 3]]);
    assert.deepEqual(flush(), []);
    sets.entry("x", "y", 1).count++;
    assert.deepEqual(flush(), [[{ a: "x", b: "y", c: "1" }, 1]]);
  });
});
