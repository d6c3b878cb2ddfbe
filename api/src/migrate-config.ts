import { EnvReader, type Env } from "@tidbstack/service-kit";
import { MIGRATION_ENV, type SecretVar, type TextVar } from "@tidbstack/service-kit/contracts";
import { readDbConfig, type DbConfig } from "./config.ts";
import type { DatabaseAccount } from "./migrator.ts";

/** What the migration command reads from its environment (the contract MIGRATION_ENV), LOG_LEVEL aside. */
export interface MigrationConfig {
  /** The administrative account the migration runs as. */
  readonly db: DbConfig;
  /** The seed admin, upserted on every run. */
  readonly seed: { readonly email: string; readonly password: string };
  /** The API's own least-privilege account, when APP_DB_USER is set. */
  readonly appAccount: DatabaseAccount | undefined;
  /** The token purge's account, when PURGE_DB_USER is set. */
  readonly purgeAccount: DatabaseAccount | undefined;
  /** Replace a new cluster's empty admin password by DB_PASSWORD. */
  readonly bootstrapEmptyPassword: boolean;
}

/**
 * An optional account, named by its user and password variables. It must not be the admin account the
 * migration runs as, whose password it would reset and whose rights it would mix with its own.
 */
function readAccount(
  reader: EnvReader,
  userVar: TextVar,
  passwordVar: SecretVar,
  db: DbConfig,
): DatabaseAccount | undefined {
  const user = reader.optional(userVar);
  if (user === undefined) return undefined;
  if (user === db.user) throw reader.error(userVar, "must not be DB_USER, the account the migration runs as");
  return { user, password: reader.read(passwordVar) };
}

export function loadMigrationConfig(env: Env): MigrationConfig {
  const reader = new EnvReader(env);
  const db = readDbConfig(reader);
  const seed = {
    email: reader.read(MIGRATION_ENV.ADMIN_EMAIL),
    password: reader.read(MIGRATION_ENV.ADMIN_PASSWORD),
  };
  const appAccount = readAccount(reader, MIGRATION_ENV.APP_DB_USER, MIGRATION_ENV.APP_DB_PASSWORD, db);
  const purgeAccount = readAccount(reader, MIGRATION_ENV.PURGE_DB_USER, MIGRATION_ENV.PURGE_DB_PASSWORD, db);
  if (purgeAccount !== undefined && purgeAccount.user === appAccount?.user) {
    // Grants add up: one account would get both sets, and the purge's separation would be lost.
    throw reader.error(MIGRATION_ENV.PURGE_DB_USER, "must differ from APP_DB_USER");
  }
  return {
    db,
    seed,
    appAccount,
    purgeAccount,
    bootstrapEmptyPassword: reader.read(MIGRATION_ENV.DB_BOOTSTRAP_EMPTY_PASSWORD),
  };
}
