import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";

/** Every query gives up after this long, so a hung database turns into a 503, not a hung request. */
export const QUERY_TIMEOUT_MS = 5000;

export interface UserCredentials {
  readonly id: number;
  readonly email: string;
  readonly passwordHash: string;
}

export interface SessionUser {
  readonly userId: number;
  readonly email: string;
}

/** A valid token's user and when the token expires. */
export interface Session {
  readonly user: SessionUser;
  readonly expiresAt: Date;
}

/** What the API needs from the database; the only module with SQL for users and tokens. */
export interface AuthStore {
  findUserByEmail(email: string): Promise<UserCredentials | undefined>;
  /**
   * Replaces a user's password hash, only if it is still `oldHash`: of two logins upgrading the same hash
   * at once, the second finds it replaced and writes nothing. False when nothing was written.
   */
  replacePasswordHash(userId: number, oldHash: string, newHash: string): Promise<boolean>;
  insertToken(userId: number, tokenHash: string, createdAt: Date, expiresAt: Date): Promise<void>;
  /** The session of a token that exists, is not revoked and has not expired at `now`. */
  findSession(tokenHash: string, now: Date): Promise<Session | undefined>;
  /**
   * The hashes of tokens revoked at or after `since`, at most `limit` of them (the revocation cursor's
   * query: a range on the revoked_at index).
   */
  revokedSince(since: Date, limit: number): Promise<string[]>;
  /** Revokes an active token; false when there was none to revoke. */
  revokeToken(tokenHash: string, now: Date): Promise<boolean>;
  ping(timeoutMs: number): Promise<void>;
}

export function createAuthStore(pool: Pool): AuthStore {
  return {
    async findUserByEmail(email) {
      const [rows] = await pool.query<RowDataPacket[]>({
        sql: "SELECT id, email, password_hash FROM users WHERE email = ?",
        values: [email],
        timeout: QUERY_TIMEOUT_MS,
      });
      const row = rows[0];
      return row === undefined
        ? undefined
        : { id: Number(row["id"]), email: String(row["email"]), passwordHash: String(row["password_hash"]) };
    },

    async replacePasswordHash(userId, oldHash, newHash) {
      const [result] = await pool.query<ResultSetHeader>({
        sql: "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
        values: [newHash, userId, oldHash],
        timeout: QUERY_TIMEOUT_MS,
      });
      return result.affectedRows > 0;
    },

    async insertToken(userId, tokenHash, createdAt, expiresAt) {
      await pool.query({
        sql: "INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
        values: [userId, tokenHash, createdAt, expiresAt],
        timeout: QUERY_TIMEOUT_MS,
      });
    },

    async findSession(tokenHash, now) {
      // The unique index on token_hash makes this a point lookup, however many tokens exist. A prepared
      // statement: the hottest query, parsed once per connection instead of on every request.
      const [rows] = await pool.execute<RowDataPacket[]>({
        sql: `SELECT u.id, u.email, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id
              WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?`,
        values: [tokenHash, now],
        timeout: QUERY_TIMEOUT_MS,
      });
      const row = rows[0];
      return row === undefined
        ? undefined
        : {
            user: { userId: Number(row["id"]), email: String(row["email"]) },
            expiresAt: row["expires_at"] as Date,
          };
    },

    async revokedSince(since, limit) {
      const [rows] = await pool.query<RowDataPacket[]>({
        sql: "SELECT token_hash FROM tokens WHERE revoked_at >= ? LIMIT ?",
        values: [since, limit],
        timeout: QUERY_TIMEOUT_MS,
      });
      return rows.map((row) => String(row["token_hash"]));
    },

    async revokeToken(tokenHash, now) {
      const [result] = await pool.query<ResultSetHeader>({
        sql: "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
        values: [now, tokenHash, now],
        timeout: QUERY_TIMEOUT_MS,
      });
      return result.affectedRows > 0;
    },

    async ping(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`database did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        await Promise.race([pool.query({ sql: "SELECT 1", timeout: timeoutMs }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
