/**
 * The migration command (`node dist/migrate.js`, `npm run migrate -w api`): what the Pulumi init step runs
 * against TiDB. Reads DB_* (an account allowed to create databases, tables and users), ADMIN_EMAIL and
 * ADMIN_PASSWORD for the seed user, and optionally APP_DB_USER / APP_DB_PASSWORD for the API's own
 * least-privilege account and PURGE_DB_USER / PURGE_DB_PASSWORD for the token purge's. With
 * DB_BOOTSTRAP_EMPTY_PASSWORD=true, a new cluster's empty admin password is replaced by DB_PASSWORD. Exits 0
 * when the schema is current, 1 with one log line when not.
 */
import { configureLogging, EnvReader, getLogger, shutdownLogging } from "@tidbstack/service-kit";
import { MIGRATION_ENV } from "@tidbstack/service-kit/contracts";
import { connectAdmin } from "./admin-connection.ts";
import { loadMigrationConfig } from "./migrate-config.ts";
import { MIGRATIONS } from "./migrations.ts";
import { migrate } from "./migrator.ts";

async function main(): Promise<number> {
  configureLogging(new EnvReader(process.env).read(MIGRATION_ENV.LOG_LEVEL));
  const logger = getLogger("migrate");
  try {
    const config = loadMigrationConfig(process.env);
    const connection = await connectAdmin(config.db, config.bootstrapEmptyPassword, logger);
    try {
      await migrate(
        connection,
        config.db.database,
        MIGRATIONS,
        config.seed,
        logger,
        config.appAccount,
        config.purgeAccount,
      );
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
