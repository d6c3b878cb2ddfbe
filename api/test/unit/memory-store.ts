import { hashPassword, type ScryptParams } from "../../src/passwords.ts";
import type { AuthStore, SessionUser, UserCredentials } from "../../src/store.ts";

/**
 * An in-memory AuthStore for unit tests of the HTTP layer (validation, error shapes, logging, limits).
 * SQL behaviour is tested against the real database in test/integration.
 */
export class MemoryStore implements AuthStore {
  readonly users: UserCredentials[] = [];
  readonly tokens: { userId: number; tokenHash: string; expiresAt: Date; revokedAt?: Date }[] = [];
  /** Set to make every call fail like an unreachable database. */
  down = false;

  static async withUser(email: string, password: string, params?: ScryptParams): Promise<MemoryStore> {
    const store = new MemoryStore();
    store.users.push({ id: 1, email, passwordHash: await hashPassword(password, params) });
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

  async insertToken(userId: number, tokenHash: string, _createdAt: Date, expiresAt: Date): Promise<void> {
    this.check();
    this.tokens.push({ userId, tokenHash, expiresAt });
    return Promise.resolve();
  }

  async findSessionUser(tokenHash: string, now: Date): Promise<SessionUser | undefined> {
    this.check();
    const token = this.tokens.find(
      (t) => t.tokenHash === tokenHash && t.revokedAt === undefined && t.expiresAt > now,
    );
    const user = this.users.find((u) => u.id === token?.userId);
    return Promise.resolve(user === undefined ? undefined : { userId: user.id, email: user.email });
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
