/**
 * Remembers the most recent `capacity` keys, forgetting the oldest first. Used to drop events that Kafka
 * or TiCDC deliver again (after a rebalance, a retried batch, a TiCDC restart) without unbounded memory.
 *
 * The keys are kept twice: in a set, to answer "seen?", and in a ring in arrival order, to find the oldest
 * without allocating a set iterator per event once the window is full.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly order: string[] = [];
  /** Where the next key goes in `order`; once the ring is full, the slot of the oldest key. */
  private next = 0;
  private readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.capacity = capacity;
  }

  /** True the first time a key is seen within the window; false for a repeat. */
  firstSeen(key: string): boolean {
    if (this.keys.has(key)) return false;
    if (this.order.length < this.capacity) {
      this.order.push(key);
    } else {
      this.keys.delete(this.order[this.next] as string);
      this.order[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.keys.add(key);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
