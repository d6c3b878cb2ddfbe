import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { MIGRATIONS } from "@tidbstack/api/migrations";
import { dockerRun } from "../lib/docker.ts";
import { MIGRATION_COMMAND, MIGRATION_SECRET_ENV, migrationEnvironment } from "../lib/service-env.ts";
import { childOf } from "../lib/options.ts";

export interface DatabaseMigrationArgs {
  readonly networkName: pulumi.Input<string>;
  /** The API image (it carries the migration command). */
  readonly apiImage: pulumi.Input<string>;
  readonly database: string;
  readonly adminEmail: string;
  readonly adminPassword: pulumi.Input<string>;
  /** TiDB's root password; a fresh cluster's empty one is replaced by it on the first run. */
  readonly rootPassword: pulumi.Input<string>;
  /** Password of the API's least-privilege account. */
  readonly apiDbPassword: pulumi.Input<string>;
}

/** A digest of the schema: a change to the migrations re-runs the step. */
export const migrationsHash = (): string =>
  createHash("sha256").update(JSON.stringify(MIGRATIONS)).digest("hex");

/**
 * The init SQL step: runs the API's migration command against TiDB as root. It creates the database, the
 * tables and the API's account, and upserts the seed admin. Idempotent, so re-running it is always safe.
 */
export class DatabaseMigration extends pulumi.ComponentResource {
  readonly command: command.local.Command;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:DatabaseMigration", name, {}, opts);
    const run = dockerRun({
      networkName: args.networkName,
      image: args.apiImage,
      env: migrationEnvironment({ database: args.database, adminEmail: args.adminEmail }),
      secretEnv: MIGRATION_SECRET_ENV,
      command: MIGRATION_COMMAND,
    });
    this.command = new command.local.Command(
      name,
      {
        create: run,
        environment: {
          DB_PASSWORD: args.rootPassword,
          ADMIN_PASSWORD: args.adminPassword,
          APP_DB_PASSWORD: args.apiDbPassword,
        },
        // Re-run when the schema changes; a new API image alone does not change the database.
        triggers: [migrationsHash()],
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
