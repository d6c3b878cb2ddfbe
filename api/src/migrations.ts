/**
 * The schema, as ordered, versioned migrations. Each statement is written to run on TiDB v8.5, MySQL 8 and
 * MariaDB 10.11 alike, and to be harmless when repeated (IF NOT EXISTS), so an interrupted run can simply be
 * run again. Every table has a primary key: TiCDC replicates only tables that have one.
 *
 * Indexes are added with ALTER TABLE ... ADD INDEX, which MySQL 8 cannot guard with IF NOT EXISTS; the migrator
 * treats "duplicate key name" as already done instead.
 *
 * Append new migrations; never edit one that has shipped. The Pulumi program re-runs the migration command
 * when this list changes (it hashes it).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "users and tokens",
    statements: [
      `CREATE TABLE IF NOT EXISTS users (
        id BIGINT NOT NULL AUTO_INCREMENT,
        email VARCHAR(320) NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id),
        UNIQUE KEY uq_users_email (email)
      )`,
      `CREATE TABLE IF NOT EXISTS tokens (
        id BIGINT NOT NULL AUTO_INCREMENT,
        user_id BIGINT NOT NULL,
        token_hash CHAR(64) NOT NULL,
        created_at DATETIME(3) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        revoked_at DATETIME(3) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_tokens_token_hash (token_hash),
        KEY idx_tokens_user_id (user_id)
      )`,
    ],
  },
  {
    version: 2,
    name: "indexes for the token purge",
    // The purge deletes tokens expired or revoked before a cutoff; without these it would scan the table.
    statements: [
      "ALTER TABLE tokens ADD INDEX idx_tokens_expires_at (expires_at)",
      "ALTER TABLE tokens ADD INDEX idx_tokens_revoked_at (revoked_at)",
    ],
  },
  {
    version: 3,
    name: "shared login rate limit",
    // One row per client: the SHA-256 of its key (fixed width whatever the address looks like) and the
    // theoretical arrival time of its next attempt in microseconds (GCRA, see database-rate-limit.ts).
    // Rows whose time has passed carry no state; the index lets the API delete them in small batches.
    statements: [
      `CREATE TABLE IF NOT EXISTS login_rate_limits (
        client_key BINARY(32) NOT NULL,
        tat_us BIGINT NOT NULL,
        PRIMARY KEY (client_key),
        KEY idx_login_rate_limits_tat_us (tat_us)
      )`,
    ],
  },
];
