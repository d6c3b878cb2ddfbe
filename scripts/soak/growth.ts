/**
 * Whether a series of memory samples grows without bound: the soak's pass/fail criterion.
 *
 * The samples after the warm-up are split by time into thirds A, B and C, and each third is reduced to its
 * median. Medians, because a healthy Node process saws up and down between garbage collections (the heap
 * holds up to a young generation's worth of garbage, tens of MiB, before a scavenge frees it); a third of
 * the run spans many of those cycles, so its median is the level the process works at. The series grows
 * without bound when both hold:
 *
 * 1. **It grew:** median(C) − median(A) exceeds the limit, `max(minBytes, fraction × median(A))`. The
 *    absolute floor keeps the sawtooth and one-off allocations (a lazily compiled code path, a larger
 *    buffer pool) from failing a short run; the fraction scales it to bigger processes.
 * 2. **It is still growing at the end:** median(C) − median(B) is at least a quarter of the total growth.
 *    A leak proportional to work grows at the same pace in every third (half the total growth between each
 *    pair of medians); memory that fills a bounded structure (a cache, the dedup window, JIT code) and then
 *    stops rises early and flattens, so its last step is small.
 *
 * Anything that passes (1) but not (2) is reported as bounded growth, with its numbers.
 */

export interface Sample {
  /** Seconds since the start of the run. */
  readonly t: number;
  readonly value: number;
}

export interface GrowthLimits {
  /** Growth under this many bytes never fails, whatever the process's size. */
  readonly minBytes: number;
  /** Growth under this fraction of the first third's median never fails. */
  readonly fraction: number;
}

export interface Growth {
  readonly samples: number;
  readonly firstMedian: number;
  readonly middleMedian: number;
  readonly lastMedian: number;
  /** lastMedian − firstMedian. */
  readonly growth: number;
  /** Least-squares slope over the whole window, in bytes per minute. */
  readonly slopePerMinute: number;
  readonly limit: number;
  readonly unbounded: boolean;
  /** One sentence: why it passed or failed. */
  readonly verdict: string;
}

/** Fewer samples than this per third cannot tell a trend from the sawtooth. */
export const MIN_SAMPLES_PER_THIRD = 3;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Ordinary least-squares slope of value over t, in value units per second. */
export function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((sum, s) => sum + s.t, 0) / n;
  const meanV = samples.reduce((sum, s) => sum + s.value, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.t - meanT) * (s.value - meanV);
    variance += (s.t - meanT) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/** Applies the criterion above to samples taken after the warm-up, in time order. */
export function analyseGrowth(samples: readonly Sample[], limits: GrowthLimits): Growth {
  if (samples.length < 3 * MIN_SAMPLES_PER_THIRD) {
    throw new RangeError(
      `${samples.length} samples after the warm-up; at least ${3 * MIN_SAMPLES_PER_THIRD} are needed (run longer or sample more often)`,
    );
  }
  const start = (samples[0] as Sample).t;
  const span = (samples.at(-1) as Sample).t - start;
  const third = (s: Sample): number => Math.min(2, Math.floor(((s.t - start) / span) * 3));
  const thirds: number[][] = [[], [], []];
  for (const s of samples) thirds[third(s)]?.push(s.value);
  if (thirds.some((values) => values.length < MIN_SAMPLES_PER_THIRD)) {
    throw new RangeError("the samples are too unevenly spaced to split into thirds");
  }
  const [firstMedian, middleMedian, lastMedian] = thirds.map(median) as [number, number, number];
  const growth = lastMedian - firstMedian;
  const limit = Math.max(limits.minBytes, limits.fraction * firstMedian);
  const grew = growth > limit;
  const stillGrowing = lastMedian - middleMedian >= growth / 4;
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const verdict = !grew
    ? `grew ${mib(growth)}, within the limit of ${mib(limit)}`
    : stillGrowing
      ? `grew ${mib(growth)}, over the limit of ${mib(limit)}, and was still growing in the last third (${mib(lastMedian - middleMedian)})`
      : `grew ${mib(growth)}, over the limit of ${mib(limit)}, but flattened: only ${mib(lastMedian - middleMedian)} in the last third`;
  return {
    samples: samples.length,
    firstMedian,
    middleMedian,
    lastMedian,
    growth,
    slopePerMinute: slope(samples) * 60,
    limit,
    unbounded: grew && stillGrowing,
    verdict,
  };
}
