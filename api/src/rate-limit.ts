export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When refused: whole seconds until the next attempt is allowed (the Retry-After value). */
  readonly retryAfterSeconds: number;
}

/**
 * What the login route asks before it hashes anything: may this client try now? Implemented in memory
 * (below: one replica) and in the database (database-rate-limit.ts: shared by every replica). A database
 * limiter rejects when it cannot decide; the route then answers 503 like any other database failure.
 */
export interface LoginRateLimiter {
  take(key: string): RateLimitDecision | Promise<RateLimitDecision>;
}

/**
 * Per-key token buckets: each key (a client IP) may spend `perMinute` attempts at once and regains them
 * evenly over a minute, so there is no burst at a window boundary. In memory: with several API replicas the
 * limit applies per replica; the database limiter is the shared one.
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter implements LoginRateLimiter {
  private readonly capacity: number;
  private readonly refillPerMs: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  /** Above this many tracked keys, full buckets are dropped so memory stays bounded. */
  private readonly sweepThreshold: number;

  constructor(perMinute: number, now: () => number = Date.now, sweepThreshold = 10_000) {
    this.capacity = perMinute;
    this.refillPerMs = perMinute / 60_000;
    this.now = now;
    this.sweepThreshold = sweepThreshold;
  }

  take(key: string): RateLimitDecision {
    const now = this.now();
    const bucket = this.refilled(this.buckets.get(key), now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      if (this.buckets.size > this.sweepThreshold) this.sweep(now);
      return { allowed: true, retryAfterSeconds: 0 };
    }
    this.buckets.set(key, bucket);
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000)),
    };
  }

  /** How many keys are tracked (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(bucket: Bucket | undefined, now: number): Bucket {
    if (bucket === undefined) return { tokens: this.capacity, updatedMs: now };
    const elapsed = Math.max(0, now - bucket.updatedMs);
    return { tokens: Math.min(this.capacity, bucket.tokens + elapsed * this.refillPerMs), updatedMs: now };
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now).tokens >= this.capacity) this.buckets.delete(key);
    }
  }
}
