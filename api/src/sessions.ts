import type { Logger } from "@tidbstack/service-kit";
import { RevocationFeed } from "./revocation-feed.ts";
import { QUERY_TIMEOUT_MS, type AuthStore, type SessionUser } from "./store.ts";
import { TokenCache, type TokenCacheLimits } from "./token-cache.ts";

/** Where GET /me and POST /logout find a token's user. */
export interface SessionLookup {
  /** The user of a valid token (not revoked, not expired at `now`), or undefined. */
  find(tokenHash: string, now: Date): Promise<SessionUser | undefined>;
  /** After a logout: this process stops serving the token at once. */
  forget(tokenHash: string): void;
  /** Stops background work (the revocation feed). */
  stop(): Promise<void>;
}

/** Every lookup asks the database. */
export function databaseSessions(store: Pick<AuthStore, "findSession">): SessionLookup {
  return {
    async find(tokenHash, now) {
      return (await store.findSession(tokenHash, now))?.user;
    },
    forget() {},
    async stop() {},
  };
}

export interface CachedSessionsOptions {
  readonly store: Pick<AuthStore, "findSession">;
  /**
   * Where the revocation feed polls: best on a connection of its own, so the poll never waits behind the
   * requests' lookups. Queued behind a burst of cache misses, it could miss the bound, which turns the
   * cache off and makes every request a miss.
   */
  readonly revocations: Pick<AuthStore, "revokedSince">;
  readonly logger: Logger;
  readonly limits: TokenCacheLimits;
  /** A revoked token is refused everywhere within this long (ms) of its revocation's commit. */
  readonly revocationBoundMs: number;
  /** A cached session is read from the database again after this long (ms), revoked or not. */
  readonly maxAgeMs: number;
  /** The app's clock (token expiry). */
  readonly clock: () => Date;
  /** Default performance.now(). */
  readonly monotonic?: () => number;
}

/**
 * Lookups answered from a per-process cache of the database's answers while the revocation feed is
 * current: a cached session is served only before its token expires, within `maxAgeMs` of being read,
 * and while the last revocation poll started within the bound. Anything else asks the database.
 */
export function cachedSessions(options: CachedSessionsOptions): SessionLookup {
  const { store, maxAgeMs } = options;
  const monotonic = options.monotonic ?? (() => performance.now());
  const cache = new TokenCache(options.limits);
  const feed = new RevocationFeed({
    store: options.revocations,
    logger: options.logger,
    boundMs: options.revocationBoundMs,
    clock: options.clock,
    monotonic,
    onRevoked: (tokenHash) => {
      cache.delete(tokenHash);
    },
    onOverflow: () => {
      cache.clear();
    },
  });
  // A lookup started before a logout finishes within its query timeout: then its token's tombstone can go.
  const pruner = setInterval(() => {
    cache.pruneForgotten(monotonic() - QUERY_TIMEOUT_MS - 1000);
  }, 1000).unref();
  feed.start();

  return {
    async find(tokenHash, now) {
      const nowMs = now.getTime();
      const readAtMs = monotonic();
      if (feed.trusted()) {
        const cached = cache.get(tokenHash);
        if (cached !== undefined && cached.expiresAtMs > nowMs && readAtMs - cached.readAtMs < maxAgeMs) {
          return cached.user;
        }
      }
      const pollsBefore = feed.appliedPolls;
      const session = await store.findSession(tokenHash, now);
      if (session === undefined) cache.delete(tokenHash);
      // A poll that finished during the read may have evicted this very session (revoked after the read
      // began): caching it now would bring it back until a later poll. Such a read is not cached.
      else if (feed.appliedPolls === pollsBefore) {
        cache.set(tokenHash, { user: session.user, expiresAtMs: session.expiresAt.getTime(), readAtMs });
      }
      return session?.user;
    },
    forget(tokenHash) {
      cache.forget(tokenHash, monotonic());
    },
    async stop() {
      clearInterval(pruner);
      await feed.stop();
    },
  };
}
