import type { SessionUser } from "./store.ts";

/** A session read from the database: whose token it is, until when, and when it was read. */
export interface CachedSession {
  readonly user: SessionUser;
  /** The token's expiry, in ms since the epoch (the app's clock). */
  readonly expiresAtMs: number;
  /** When the database lookup that found it started, by performance.now(). */
  readonly readAtMs: number;
}

export interface TokenCacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/**
 * What one entry costs V8, counted generously so the bound holds: the 64-character key (a one-byte string),
 * the list node, entry and user objects, the Map's slots (its hash table keeps up to twice as many as it
 * has entries), and the email at two bytes per character, in case it is not ASCII. Measured on Node 24
 * x64: about 360 bytes per entry with 27-character emails (token-cache.test.ts checks the bound).
 */
const ENTRY_BYTES = 512;
export const entryBytes = (session: CachedSession): number => ENTRY_BYTES + 2 * session.user.email.length;

/** A node of the recency list: the most recently used at the head, the next to evict at the tail. */
interface Node {
  readonly tokenHash: string;
  readonly session: CachedSession;
  readonly bytes: number;
  newer: Node | undefined;
  older: Node | undefined;
}

/**
 * Token hash → session, bounded by entries and by bytes, least recently used first out. The cache only
 * stores; whether an entry may still be served (expiry, age, revocations) is for its caller to decide.
 * Recency is a linked list beside the Map, not the Map's own order: evicting from the front of a Map that
 * is churned by deletes makes V8 skip the deleted slots on every eviction.
 *
 * Forgetting a token also remembers that it was forgotten, for a while: a lookup that read the database
 * before the logout and finishes after it must not put the session back.
 */
export class TokenCache {
  private readonly nodes = new Map<string, Node>();
  private readonly forgotten = new Map<string, number>();
  private newest: Node | undefined;
  private oldest: Node | undefined;
  private bytes = 0;
  readonly limits: TokenCacheLimits;

  constructor(limits: TokenCacheLimits) {
    if (limits.maxEntries < 1 || limits.maxBytes < ENTRY_BYTES) {
      throw new RangeError(`a token cache needs room for one entry, got ${JSON.stringify(limits)}`);
    }
    this.limits = limits;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Bytes the entries are counted as (entryBytes), never above limits.maxBytes. */
  get countedBytes(): number {
    return this.bytes;
  }

  /** The session cached for `tokenHash`, now the most recently used. */
  get(tokenHash: string): CachedSession | undefined {
    const node = this.nodes.get(tokenHash);
    if (node === undefined) return undefined;
    if (node !== this.newest) {
      this.unlink(node);
      this.linkNewest(node);
    }
    return node.session;
  }

  /** Caches `session`, evicting the least recently used as needed; not if the token was forgotten since it was read. */
  set(tokenHash: string, session: CachedSession): void {
    const forgottenAt = this.forgotten.get(tokenHash);
    if (forgottenAt !== undefined && forgottenAt >= session.readAtMs) return;
    this.delete(tokenHash);
    const bytes = entryBytes(session);
    if (bytes > this.limits.maxBytes) return;
    while (
      this.oldest !== undefined &&
      (this.nodes.size >= this.limits.maxEntries || this.bytes + bytes > this.limits.maxBytes)
    ) {
      this.delete(this.oldest.tokenHash);
    }
    const node: Node = { tokenHash, session, bytes, newer: undefined, older: undefined };
    this.nodes.set(tokenHash, node);
    this.linkNewest(node);
    this.bytes += bytes;
  }

  delete(tokenHash: string): void {
    const node = this.nodes.get(tokenHash);
    if (node === undefined) return;
    this.nodes.delete(tokenHash);
    this.unlink(node);
    this.bytes -= node.bytes;
  }

  /** Deletes the token's entry and keeps it out until `forget` is pruned (at `nowMs`, by performance.now()). */
  forget(tokenHash: string, nowMs: number): void {
    this.delete(tokenHash);
    this.forgotten.delete(tokenHash);
    this.forgotten.set(tokenHash, nowMs);
  }

  /** Drops the memory of tokens forgotten before `beforeMs`: no lookup that started earlier is still running. */
  pruneForgotten(beforeMs: number): void {
    for (const [tokenHash, forgottenAt] of this.forgotten) {
      // Insertion order is forgetting order (forget() re-inserts).
      if (forgottenAt >= beforeMs) break;
      this.forgotten.delete(tokenHash);
    }
  }

  clear(): void {
    this.nodes.clear();
    this.newest = undefined;
    this.oldest = undefined;
    this.bytes = 0;
  }

  private linkNewest(node: Node): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = node;
    this.newest = node;
    this.oldest ??= node;
  }

  private unlink(node: Node): void {
    if (node.newer === undefined) this.newest = node.older;
    else node.newer.older = node.older;
    if (node.older === undefined) this.oldest = node.newer;
    else node.older.newer = node.newer;
    node.newer = undefined;
    node.older = undefined;
  }
}
