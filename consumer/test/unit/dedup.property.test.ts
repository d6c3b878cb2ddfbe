import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_KEY_CHARS, RecentKeys } from "../../src/dedup.ts";

/** The window as its contract states it: the last `capacity` distinct first-seen keys, in arrival order. */
class ModelWindow {
  private readonly order: string[] = [];
  private readonly keys = new Set<string>();
  private readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  get size(): number {
    return this.order.length;
  }
  firstSeen(key: string): boolean {
    if (this.keys.has(key)) return false;
    if (this.order.length === this.capacity) this.keys.delete(this.order.shift() as string);
    this.order.push(key);
    this.keys.add(key);
    return true;
  }
}

/**
 * Keys from a small pool, so the sequences repeat keys inside and outside the window; short and long
 * (past MAX_KEY_CHARS, remembered by digest), sharing prefixes, with NUL and characters beyond Latin-1.
 */
const key = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b", "\0", "é", "日"), maxLength: 4 }),
  fc
    .tuple(
      fc.constantFrom("x".repeat(MAX_KEY_CHARS - 1), "x".repeat(MAX_KEY_CHARS)),
      fc.constantFrom("", "a", "b"),
    )
    .map(([prefix, end]) => prefix + end),
);

describe("the window of recent keys, against its model", () => {
  it("answers every firstSeen as the model does, for any capacity and sequence of keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.array(key, { maxLength: 300 }), (capacity, keys) => {
        const window = new RecentKeys(capacity);
        const model = new ModelWindow(capacity);
        for (const [index, k] of keys.entries()) {
          assert.equal(window.firstSeen(k), model.firstSeen(k), `key ${index} (${JSON.stringify(k)})`);
          assert.equal(window.size, model.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a full window of distinct keys exact through many wraps of the ring", () => {
    const capacity = 1000;
    const window = new RecentKeys(capacity);
    for (let i = 0; i < 20 * capacity; i++) {
      assert.equal(window.firstSeen(`k${i}`), true);
      if (i >= capacity) {
        assert.equal(window.firstSeen(`k${i - capacity + 1}`), false, "the oldest key still in the window");
      }
    }
    assert.equal(window.size, capacity);
    assert.equal(
      window.firstSeen(`k${19 * capacity - 1}`),
      true,
      "the key just before the window is forgotten",
    );
  });
});
