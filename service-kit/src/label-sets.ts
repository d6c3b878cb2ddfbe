/** What a metric keeps per label set: the labels, built once, and the count not yet handed to its counter. */
export interface CountedLabelSet<L> {
  readonly labels: L;
  count: number;
}

/**
 * One entry per label set of three values, for metrics updated on every event or request. prom-client's
 * `inc(labels)` hashes and validates the labels on every call, and so does the child `labels()` returns,
 * which was a visible part of the time per event: here the entry is found through nested maps, without
 * building a key string, and counts accumulate in it until the counter is collected (every scrape), when
 * `flushCounts` hands them over. A scrape still sees everything counted before it. The caller keeps the
 * label values bounded (route templates, status codes, tables), so the table is too.
 */
export class LabelSetTable<A, B, C, E extends CountedLabelSet<unknown>> {
  private readonly entries = new Map<A, Map<B, Map<C, E>>>();
  private readonly create: (a: A, b: B, c: C) => E;

  /** `create` makes the entry of a label set the first time it is seen. */
  constructor(create: (a: A, b: B, c: C) => E) {
    this.create = create;
  }

  entry(a: A, b: B, c: C): E {
    let byB = this.entries.get(a);
    if (byB === undefined) {
      byB = new Map<B, Map<C, E>>();
      this.entries.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map<C, E>();
      byB.set(b, byC);
    }
    let entry = byC.get(c);
    if (entry === undefined) {
      entry = this.create(a, b, c);
      byC.set(c, entry);
    }
    return entry;
  }

  /** Hands every non-zero count to `apply` with its labels, and starts counting again from zero. */
  flushCounts(apply: (labels: E["labels"], count: number) => void): void {
    for (const byB of this.entries.values())
      for (const byC of byB.values())
        for (const entry of byC.values()) {
          if (entry.count === 0) continue;
          apply(entry.labels, entry.count);
          entry.count = 0;
        }
  }
}
