/**
 * The migration command (`node dist/migrate.js`, `npm run migrate -w api`): what the Pulumi init step runs
 * against TiDB. Reads DB_* (an account allowed to create databases, tables and users), ADMIN_EMAIL and
 * ADMIN_PASSWORD for the seed user, and optionally APP_DB_USER / APP_DB_PASSWORD for the API's own
 * least-privilege account and PURGE_DB_USER / PURGE_DB_PASSWORD for the token purge's. With
 * DB_BOOTSTRAP_EMPTY_PASSWORD=true, a new cluster's empty admin password is replaced by DB_PASSWORD. Exits 0
 * when the schema is current, 1 with one log line when not.
 */
import { configureLogging, EnvReader, getLogger, shutdownLogging } from "@tidbstack/service-kit";
import { connectAdmin } from "./admin-connection.ts";
import { readDbConfig, type DbConfig } from "./config.ts";
import { MIGRATIONS } from "./migrations.ts";
import { migrate, type DatabaseAccount } from "./migrator.ts";

/**
 * An optional account, named by `<prefix>_USER` and `<prefix>_PASSWORD`. It must not be the admin account
 * the migration runs as, whose password it would reset and whose rights it would mix with its own.
 */
function readAccount(reader: EnvReader, prefix: string, db: DbConfig): DatabaseAccount | undefined {
  const name = `${prefix}_USER`;
  if (!reader.isSet(name)) return undefined;
  const user = reader.identifier(name);
  if (user === db.user) throw reader.error(name, "must not be DB_USER, the account the migration runs as");
  return { user, password: reader.secret(`${prefix}_PASSWORD`) };
}

async function main(): Promise<number> {
  const reader = new EnvReader(process.env);
  configureLogging(reader.logLevel("LOG_LEVEL", "info"));
  const logger = getLogger("migrate");
  try {
    const db = readDbConfig(reader);
    const seed = { email: reader.string("ADMIN_EMAIL"), password: reader.secret("ADMIN_PASSWORD") };
    const appAccount = readAccount(reader, "APP_DB", db);
    const purgeAccount = readAccount(reader, "PURGE_DB", db);
    if (purgeAccount !== undefined && purgeAccount.user === appAccount?.user) {
      // Grants add up: one account would get both sets, and the purge's separation would be lost.
      throw reader.error("PURGE_DB_USER", "must differ from APP_DB_USER");
    }
    const connection = await connectAdmin(db, reader.boolean("DB_BOOTSTRAP_EMPTY_PASSWORD", false), logger);
    try {
      await migrate(connection, db.database, MIGRATIONS, seed, logger, appAccount, purgeAccount);
    } finally {
      await connection.end();
    }
    return 0;
  } catch (error) {
    logger.error({ action: "migrate_failed" }, error instanceof Error ? error.message : String(error));
    return 1;
  }
}

const code = await main();
await shutdownLogging();
process.exit(code);
