import type { Logger } from "@tidbstack/service-kit";
import { isDatabaseUnavailable } from "./database.ts";
import { QUERY_TIMEOUT_MS, type AuthStore } from "./store.ts";

/**
 * How far before the last successful poll each poll looks back. A revocation's revoked_at is the revoking
 * process's clock when it sent the UPDATE, which may commit up to a query timeout later, on a host whose
 * clock may differ by a little: a poll starting after the commit must still find it.
 */
export const LOOKBACK_MS = QUERY_TIMEOUT_MS + 1000;
/** At most this many revocations per poll; with more (a mass revocation), the whole cache is dropped. */
export const MAX_ROWS_PER_POLL = 10_000;

export interface RevocationFeedOptions {
  readonly store: Pick<AuthStore, "revokedSince">;
  readonly logger: Logger;
  /** Cached sessions may be served only while the last successful poll started less than this long ago. */
  readonly boundMs: number;
  /** Each token revoked recently (in the poll's window, so possibly again). */
  readonly onRevoked: (tokenHash: string) => void;
  /** More revocations than one poll reads: nothing cached can be trusted. */
  readonly onOverflow: () => void;
  /** The app's clock, whose time revoked_at is written in. */
  readonly clock: () => Date;
  /** A monotonic clock in ms (performance.now()). */
  readonly monotonic: () => number;
}

/**
 * The revocation cursor: one indexed query every quarter of the bound, for the tokens revoked since the
 * last successful poll (less LOOKBACK_MS). The cache is trusted only while that query keeps succeeding:
 * a revocation committed at time c is seen by the first poll that starts after c, so a cache that serves
 * only within `boundMs` of a successful poll's start serves a revoked token for less than `boundMs`.
 */
export class RevocationFeed {
  private readonly options: RevocationFeedOptions;
  private readonly intervalMs: number;
  /** The start of the last successful poll: by the monotonic clock, and by the app's clock. */
  private lastSuccessMs: number | undefined;
  private lastSuccessAt: Date;
  private failing = false;
  private applied = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(options: RevocationFeedOptions) {
    this.options = options;
    this.intervalMs = Math.max(10, Math.floor(options.boundMs / 4));
    // Nothing is cached before the first poll, and revocations before the start concern no cached entry.
    this.lastSuccessAt = options.clock();
  }

  /**
   * How many polls have applied their revocations so far. A lookup that read the database while this
   * changed may have read a session that a poll evicted in the meantime: it must not cache it.
   */
  get appliedPolls(): number {
    return this.applied;
  }

  /** True while the revocations committed up to less than `boundMs` ago are known. */
  trusted(): boolean {
    return (
      this.lastSuccessMs !== undefined && this.options.monotonic() - this.lastSuccessMs < this.options.boundMs
    );
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops polling and waits for a poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    // Polls follow each other, never overlap; the timer does not keep the process alive.
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const startedMs = this.options.monotonic();
    const startedAt = this.options.clock();
    const since = new Date(this.lastSuccessAt.getTime() - LOOKBACK_MS);
    try {
      const revoked = await this.options.store.revokedSince(since, MAX_ROWS_PER_POLL);
      if (revoked.length >= MAX_ROWS_PER_POLL) this.options.onOverflow();
      else for (const tokenHash of revoked) this.options.onRevoked(tokenHash);
      this.applied++;
      this.lastSuccessMs = startedMs;
      this.lastSuccessAt = startedAt;
      if (this.failing) this.options.logger.info({ action: "revocation_feed_recovered" });
      this.failing = false;
    } catch (error) {
      // One line per outage, not one per poll: /me answers from the database meanwhile (503 while it is down).
      if (!this.failing) {
        const fields = { action: "revocation_feed_failed", cache: "bypassed" };
        if (isDatabaseUnavailable(error)) this.options.logger.warn(fields, error);
        else this.options.logger.error(fields, error);
      }
      this.failing = true;
    }
  }
}
