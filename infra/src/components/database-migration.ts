import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { oneOffRun } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { MIGRATION_COMMAND, migrationEnvironment, migrationSecretEnvironment } from "../lib/service-env.ts";
import { splitHostPort } from "../lib/topology.ts";

export interface DatabaseMigrationArgs {
  /** Name of the Docker network the step's container joins. */
  readonly networkName: pulumi.Input<string>;
  /** The API image by id (ServiceImage.ref): it carries the migration command and the migrations. */
  readonly apiImage: pulumi.Input<string>;
  /** TiDB's MySQL endpoint inside the network, `host:port` (TidbCluster.tidbHost). */
  readonly tidbHost: pulumi.Input<string>;
  /** The database to create and migrate. */
  readonly database: string;
  /** The seed admin's email. */
  readonly adminEmail: string;
  /** The seed admin's password (a secret). */
  readonly adminPassword: pulumi.Input<string>;
  /** TiDB's root password (a secret); a fresh cluster's empty one is replaced by it on the first run. */
  readonly rootPassword: pulumi.Input<string>;
  /** Password of the API's least-privilege account (a secret). */
  readonly apiDbPassword: pulumi.Input<string>;
  /** Password of the token purge's account (a secret): SELECT and DELETE on tokens only. */
  readonly purgeDbPassword: pulumi.Input<string>;
}

/**
 * The init SQL step: runs the API's migration command against TiDB as root. It creates the database, the
 * tables, the API's and the token purge's accounts, and upserts the seed admin.
 *
 * Its command line names the API image by id, so every new API image changes the command, and Pulumi
 * updates this step in place, which runs the command again (no triggers, nothing replaced, no delete).
 * That is how a new migration reaches the database: it ships in the API image, and the API container,
 * which depends on this step, starts only after it. Re-running is safe: the migrator applies only the
 * versions missing from `schema_migrations`, under a named lock, and re-grants the account and upserts the
 * seed admin idempotently (api/src/migrator.ts). A changed secret (the environment) re-runs it too.
 */
export class DatabaseMigration extends pulumi.ComponentResource {
  readonly command: command.local.Command;

  constructor(name: string, args: DatabaseMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:DatabaseMigration", name, {}, opts);
    const run = oneOffRun({
      networkName: args.networkName,
      image: args.apiImage,
      env: pulumi.output(args.tidbHost).apply((address) => {
        const { host, port } = splitHostPort(address);
        return migrationEnvironment({
          database: args.database,
          adminEmail: args.adminEmail,
          dbHost: host,
          dbPort: port,
        });
      }),
      secretEnv: migrationSecretEnvironment({
        rootPassword: args.rootPassword,
        adminPassword: args.adminPassword,
        apiDbPassword: args.apiDbPassword,
        purgeDbPassword: args.purgeDbPassword,
      }),
      command: MIGRATION_COMMAND,
    });
    this.command = new command.local.Command(
      name,
      { create: run.command, update: run.command, environment: run.environment },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
