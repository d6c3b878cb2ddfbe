import { createHash, randomInt } from "node:crypto";

/**
 * Keys longer than this are remembered by their SHA-256 (44 base64 characters), so the window's memory is
 * bounded whatever the rows hold: a table without a primary key has every column in its key. A digest has
 * no NUL character and every key the handler builds has at least three, so the two forms never meet.
 */
export const MAX_KEY_CHARS = 64;

/**
 * Remembers the most recent `capacity` keys exactly, forgetting the oldest first. Used to drop events that
 * Kafka or TiCDC deliver again (after a rebalance, a retried batch, a TiCDC restart) in bounded memory.
 *
 * Everything lives in typed arrays allocated once: the keys' characters (one fixed slot of MAX_KEY_CHARS
 * per key, the slots used in arrival order as a ring), their hashes, and an open-addressing hash table of
 * slot numbers. A Set of strings held the same window as 100,000 heap strings, which the garbage collector
 * promoted and traced over and over: a fifth of the consumer's time per event.
 */
export class RecentKeys {
  readonly capacity: number;
  /** The characters of the key in slot s, at s * MAX_KEY_CHARS. */
  private readonly chars: Uint16Array;
  private readonly lengths: Int32Array;
  private readonly hashes: Int32Array;
  /** Linear probing; an entry is a slot number + 1, 0 is empty. At most half full. */
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Random per process, so nobody can choose keys that all land in one run of the table. */
  private readonly seed = randomInt(2 ** 32) | 0;
  /** The slot of the oldest key. */
  private oldest = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.capacity = capacity;
    this.chars = new Uint16Array(capacity * MAX_KEY_CHARS);
    this.lengths = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    const tableSize = 2 ** Math.ceil(Math.log2(capacity * 2));
    this.table = new Int32Array(tableSize);
    this.mask = tableSize - 1;
  }

  /** True the first time a key is seen within the window; false for a repeat. */
  firstSeen(key: string): boolean {
    const stored = key.length <= MAX_KEY_CHARS ? key : createHash("sha256").update(key).digest("base64");
    const hash = this.hashOf(stored);
    let at = hash & this.mask;
    for (let entry = this.table[at] as number; entry !== 0; entry = this.table[at] as number) {
      if (this.hashes[entry - 1] === hash && this.holds(entry - 1, stored)) return false;
      at = (at + 1) & this.mask;
    }
    if (this.count === this.capacity) {
      this.forgetOldest();
      // Forgetting may have moved entries into the run this key probed: find its empty place again.
      at = hash & this.mask;
      while (this.table[at] !== 0) at = (at + 1) & this.mask;
    }
    const slot = (this.oldest + this.count) % this.capacity;
    const base = slot * MAX_KEY_CHARS;
    for (let i = 0; i < stored.length; i++) this.chars[base + i] = stored.charCodeAt(i);
    this.lengths[slot] = stored.length;
    this.hashes[slot] = hash;
    this.table[at] = slot + 1;
    this.count++;
    return true;
  }

  get size(): number {
    return this.count;
  }

  private holds(slot: number, key: string): boolean {
    if (this.lengths[slot] !== key.length) return false;
    const base = slot * MAX_KEY_CHARS;
    for (let i = 0; i < key.length; i++) if (this.chars[base + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Removes the oldest key from the table, closing the gap so every remaining key is still found. */
  private forgetOldest(): void {
    const slot = this.oldest;
    let hole = (this.hashes[slot] as number) & this.mask;
    while (this.table[hole] !== slot + 1) hole = (hole + 1) & this.mask;
    // Backward-shift deletion: an entry after the hole moves into it when the hole lies between the
    // entry's home position and where it sits, so no probe ever stops at the hole before reaching it.
    for (let next = (hole + 1) & this.mask; this.table[next] !== 0; next = (next + 1) & this.mask) {
      const home = (this.hashes[(this.table[next] as number) - 1] as number) & this.mask;
      if (((next - home) & this.mask) >= ((next - hole) & this.mask)) {
        this.table[hole] = this.table[next] as number;
        hole = next;
      }
    }
    this.table[hole] = 0;
    this.oldest = (this.oldest + 1) % this.capacity;
    this.count--;
  }

  /** FNV-1a over the UTF-16 code units, from the per-process seed, then murmur3's finaliser to spread it. */
  private hashOf(key: string): number {
    let hash = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
    return hash ^ (hash >>> 16);
  }
}
