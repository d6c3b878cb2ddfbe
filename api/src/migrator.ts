import type { Connection, RowDataPacket } from "mysql2/promise";
import type { Logger } from "@tidbstack/service-kit";
import type { Migration } from "./migrations.ts";
import { PasswordHasher } from "./passwords.ts";

/** A named lock serialises concurrent runs (two `pulumi up`s, a manual run); TiDB, MySQL and MariaDB all have GET_LOCK. */
const LOCK_NAME = "tidbstack_schema_migrations";
const LOCK_TIMEOUT_SECONDS = 120;

export interface SeedUser {
  readonly email: string;
  readonly password: string;
}

/** A database account the migration creates and keeps at least privilege. */
export interface DatabaseAccount {
  readonly user: string;
  readonly password: string;
}

/** Privileges on one table of the application database, e.g. `SELECT, DELETE` on `tokens`. */
interface TableGrant {
  readonly table: string;
  readonly privileges: string;
}

/**
 * The API reads users and upgrades their password hashes (rehash at login), reads and writes tokens (never
 * deletes them), and keeps the shared login limit's rows: nothing else, no DDL, no other database. UPDATE
 * on users is table-wide: TiDB grants column privileges (UPDATE (password_hash)) only from v8.5.6.
 */
const API_GRANTS: readonly TableGrant[] = [
  { table: "users", privileges: "SELECT, UPDATE" },
  { table: "tokens", privileges: "SELECT, INSERT, UPDATE" },
  { table: "login_rate_limits", privileges: "SELECT, INSERT, UPDATE, DELETE" },
];

/** The token purge finds old tokens and deletes them; it can read nothing else and write nothing. */
const PURGE_GRANTS: readonly TableGrant[] = [{ table: "tokens", privileges: "SELECT, DELETE" }];

/** MySQL's "Duplicate key name" (TiDB and MariaDB use the same number): the index is already there. */
const ER_DUP_KEYNAME = 1061;

export interface MigrationReport {
  readonly applied: number[];
  readonly seedUser: "created" | "updated" | "unchanged";
}

/**
 * Creates the database if needed, applies the migrations it has not applied yet (recorded in
 * schema_migrations), grants the API's account and the token purge's account least privilege (each when
 * given), and makes sure the seed user exists with the given password. Safe to run again and to run
 * concurrently.
 */
export async function migrate(
  connection: Connection,
  database: string,
  migrations: readonly Migration[],
  seed: SeedUser,
  logger: Logger,
  appAccount?: DatabaseAccount,
  purgeAccount?: DatabaseAccount,
): Promise<MigrationReport> {
  await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  await connection.query(`USE \`${database}\``);
  const [lockRows] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS acquired", [
    LOCK_NAME,
    LOCK_TIMEOUT_SECONDS,
  ]);
  if (Number(lockRows[0]?.["acquired"]) !== 1) {
    throw new Error(`another migration run held the lock for over ${LOCK_TIMEOUT_SECONDS} s`);
  }
  try {
    await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INT NOT NULL,
      name VARCHAR(200) NOT NULL,
      applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (version)
    )`);
    const [doneRows] = await connection.query<RowDataPacket[]>("SELECT version FROM schema_migrations");
    const done = new Set(doneRows.map((row) => Number(row["version"])));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await runIdempotent(connection, statement);
      await connection.query("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
      logger.info({ action: "migration_applied", version: migration.version, name: migration.name });
    }
    if (appAccount !== undefined) await ensureAccount(connection, database, appAccount, API_GRANTS);
    if (purgeAccount !== undefined) await ensureAccount(connection, database, purgeAccount, PURGE_GRANTS);
    const seedUser = await upsertSeedUser(connection, seed);
    logger.info({ action: "migrate_done", database, applied, seedUser });
    return { applied, seedUser };
  } finally {
    await connection.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
  }
}

/**
 * A run interrupted after an ADD INDEX but before its version was recorded repeats that statement; the
 * index being there already is then success, not an error.
 */
async function runIdempotent(connection: Connection, statement: string): Promise<void> {
  try {
    await connection.query(statement);
  } catch (error) {
    if ((error as { errno?: unknown }).errno !== ER_DUP_KEYNAME) throw error;
  }
}

/**
 * Creates the account if needed and grants it `grants` on the application database, nothing more. Re-running
 * sets the password again, so rotating it is a config change plus a re-run.
 */
async function ensureAccount(
  connection: Connection,
  database: string,
  account: DatabaseAccount,
  grants: readonly TableGrant[],
): Promise<void> {
  await connection.query("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [account.user, account.password]);
  await connection.query("ALTER USER ?@'%' IDENTIFIED BY ?", [account.user, account.password]);
  for (const grant of grants) {
    await connection.query(`GRANT ${grant.privileges} ON \`${database}\`.${grant.table} TO ?@'%'`, [
      account.user,
    ]);
  }
}

/**
 * Creates the seed user, or resets its password when it no longer matches or its hash is weaker than the
 * current policy (Argon2id). An unchanged password writes nothing, so re-running the migration emits no
 * change event downstream.
 */
async function upsertSeedUser(connection: Connection, seed: SeedUser): Promise<MigrationReport["seedUser"]> {
  const email = seed.email.trim().toLowerCase();
  const [rows] = await connection.query<RowDataPacket[]>("SELECT password_hash FROM users WHERE email = ?", [
    email,
  ]);
  const existing = rows[0];
  const passwords = new PasswordHasher();
  if (existing !== undefined) {
    const verification = await passwords.verify(seed.password, String(existing["password_hash"]));
    if (verification.valid && !verification.needsRehash) return "unchanged";
  }
  const passwordHash = await passwords.hash(seed.password);
  await connection.query(
    "INSERT INTO users (email, password_hash) VALUES (?, ?) ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash)",
    [email, passwordHash],
  );
  return existing === undefined ? "created" : "updated";
}
