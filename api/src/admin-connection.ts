import mysql from "mysql2/promise";
import type { Logger } from "@tidbstack/service-kit";
import type { DbConfig } from "./config.ts";

/**
 * Connects as the administrative account the migration runs as. A new TiDB cluster's root has an empty
 * password; with `bootstrapEmptyPassword`, when the configured password is refused but the empty one is
 * accepted, the configured password is set, so the cluster is never left open after the first run.
 */
export async function connectAdmin(
  db: DbConfig,
  bootstrapEmptyPassword: boolean,
  logger: Logger,
): Promise<mysql.Connection> {
  const connect = (password: string) =>
    mysql.createConnection({
      host: db.host,
      port: db.port,
      user: db.user,
      password,
      timezone: "Z",
      connectTimeout: 10_000,
    });
  const refused = (error: unknown): boolean =>
    (error as { code?: unknown }).code === "ER_ACCESS_DENIED_ERROR";
  try {
    return await connect(db.password);
  } catch (error) {
    if (!bootstrapEmptyPassword || !refused(error) || db.password === "") throw error;
  }
  let connection: mysql.Connection;
  try {
    connection = await connect("");
  } catch (error) {
    // Another run (a concurrent `pulumi up`) set the password between our two attempts.
    if (refused(error)) return connect(db.password);
    throw error;
  }
  const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS account");
  const account = String(rows[0]?.["account"]);
  const at = account.lastIndexOf("@");
  await connection.query("ALTER USER ?@? IDENTIFIED BY ?", [
    account.slice(0, at),
    account.slice(at + 1),
    db.password,
  ]);
  logger.info(
    { action: "admin_password_set", user: account.slice(0, at) },
    "replaced the empty password of a new cluster",
  );
  return connection;
}
