/**
 * Remembers the most recent `capacity` keys, forgetting the oldest first. Used to drop events that Kafka
 * or TiCDC deliver again (after a rebalance, a retried batch, a TiCDC restart) without unbounded memory.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.capacity = capacity;
  }

  /** True the first time a key is seen within the window; false for a repeat. */
  firstSeen(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value as string;
      this.keys.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}
