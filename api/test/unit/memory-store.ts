import { PasswordHasher } from "../../src/passwords.ts";
import type { AuthStore, Session, UserCredentials } from "../../src/store.ts";

/** Argon2id at a cost unit tests can afford (64 KiB, 1 pass): what MemoryStore hashes with. */
export const FAST_PASSWORDS = new PasswordHasher({
  policy: { algorithm: "argon2id", params: { memoryKiB: 64, passes: 1, parallelism: 1 } },
  concurrency: 2,
});

/**
 * An in-memory AuthStore for unit tests of the HTTP layer (validation, error shapes, logging, limits).
 * SQL behaviour is tested against the real database in test/integration.
 */
export class MemoryStore implements AuthStore {
  users: UserCredentials[] = [];
  readonly tokens: { userId: number; tokenHash: string; expiresAt: Date; revokedAt?: Date }[] = [];
  /** Set to make every call fail like an unreachable database. */
  down = false;

  /** A store with one user, whose password is hashed by `hasher` (default FAST_PASSWORDS). */
  static async withUser(email: string, password: string, hasher = FAST_PASSWORDS): Promise<MemoryStore> {
    const store = new MemoryStore();
    store.users.push({ id: 1, email, passwordHash: await hasher.hash(password) });
    return store;
  }

  private check(): void {
    if (this.down)
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4000"), { code: "ECONNREFUSED" });
  }

  async findUserByEmail(email: string): Promise<UserCredentials | undefined> {
    this.check();
    return Promise.resolve(this.users.find((user) => user.email === email));
  }

  async replacePasswordHash(userId: number, oldHash: string, newHash: string): Promise<boolean> {
    this.check();
    const user = this.users.find((u) => u.id === userId && u.passwordHash === oldHash);
    if (user !== undefined)
      this.users = this.users.map((u) => (u === user ? { ...u, passwordHash: newHash } : u));
    return Promise.resolve(user !== undefined);
  }

  async insertToken(userId: number, tokenHash: string, _createdAt: Date, expiresAt: Date): Promise<void> {
    this.check();
    this.tokens.push({ userId, tokenHash, expiresAt });
    return Promise.resolve();
  }

  async findSession(tokenHash: string, now: Date): Promise<Session | undefined> {
    this.check();
    const token = this.tokens.find(
      (t) => t.tokenHash === tokenHash && t.revokedAt === undefined && t.expiresAt > now,
    );
    const user = this.users.find((u) => u.id === token?.userId);
    return Promise.resolve(
      user === undefined || token === undefined
        ? undefined
        : { user: { userId: user.id, email: user.email }, expiresAt: token.expiresAt },
    );
  }

  async revokedSince(since: Date): Promise<string[]> {
    this.check();
    return Promise.resolve(
      this.tokens.filter((t) => t.revokedAt !== undefined && t.revokedAt >= since).map((t) => t.tokenHash),
    );
  }

  async revokeToken(tokenHash: string, now: Date): Promise<boolean> {
    this.check();
    const token = this.tokens.find(
      (t) => t.tokenHash === tokenHash && t.revokedAt === undefined && t.expiresAt > now,
    );
    if (token !== undefined) token.revokedAt = now;
    return Promise.resolve(token !== undefined);
  }

  async ping(): Promise<void> {
    this.check();
    return Promise.resolve();
  }
}
