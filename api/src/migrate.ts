/**
 * The migration command (`node dist/migrate.js`, `npm run migrate -w api`): what the Pulumi init step runs
 * against TiDB. Reads DB_* (an account allowed to create databases, tables and users), ADMIN_EMAIL and
 * ADMIN_PASSWORD for the seed user, and optionally APP_DB_USER / APP_DB_PASSWORD for the API's own
 * least-privilege account. With DB_BOOTSTRAP_EMPTY_PASSWORD=true, a new cluster's empty admin password is
 * replaced by DB_PASSWORD. Exits 0 when the schema is current, 1 with one log line when not.
 */
import { configureLogging, EnvReader, getLogger, shutdownLogging } from "@tidbstack/service-kit";
import { connectAdmin } from "./admin-connection.ts";
import { readDbConfig } from "./config.ts";
import { MIGRATIONS } from "./migrations.ts";
import { migrate, type AppAccount } from "./migrator.ts";

async function main(): Promise<number> {
  const reader = new EnvReader(process.env);
  configureLogging(reader.logLevel("LOG_LEVEL", "info"));
  const logger = getLogger("migrate");
  try {
    const db = readDbConfig(reader);
    const seed = { email: reader.string("ADMIN_EMAIL"), password: reader.secret("ADMIN_PASSWORD") };
    const appAccount: AppAccount | undefined = reader.isSet("APP_DB_USER")
      ? { user: reader.identifier("APP_DB_USER"), password: reader.secret("APP_DB_PASSWORD") }
      : undefined;
    const connection = await connectAdmin(db, reader.boolean("DB_BOOTSTRAP_EMPTY_PASSWORD", false), logger);
    try {
      await migrate(connection, db.database, MIGRATIONS, seed, logger, appAccount);
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
