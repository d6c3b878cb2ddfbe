import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { freePort, startServerProcess, waitUntilReady, type ServerProcess } from "./processes.ts";

const run = promisify(execFile);

/** The account the test environment creates for the tests: full rights, TCP only. */
const ADMIN_USER = "testadmin";
const ADMIN_PASSWORD = "testadmin-password";

export interface MariaDbServer {
  readonly port: number;
  /** `mysql://testadmin:...@127.0.0.1:<port>`: an account that may create databases and users. */
  readonly url: string;
  /** Stops the server and keeps its data, so `start()` brings the same databases back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Kills the server with SIGKILL, like a crash; its data stays, so `start()` recovers it on the same port. */
  kill(): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts MariaDB from Debian's packages on a free port with a throwaway data directory. As root it runs
 * as the unprivileged `mysql` user, as MariaDB insists.
 */
export async function startMariaDb(options: { port?: number } = {}): Promise<MariaDbServer> {
  const port = options.port ?? (await freePort());
  const baseDir = mkdtempSync(join(tmpdir(), "tidbstack-mariadb-"));
  const dataDir = join(baseDir, "data");
  const socket = join(baseDir, "mariadb.sock");
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const mysqlUser = statSync("/var/lib/mysql", { throwIfNoEntry: false });
    chownSync(baseDir, mysqlUser?.uid ?? 0, mysqlUser?.gid ?? 0);
  }
  const userArgs = asRoot ? ["--user=mysql"] : [];

  await run("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${dataDir}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    ...userArgs,
  ]).catch((error: unknown) => {
    throw new Error(`mariadb-install-db failed (is mariadb-server installed?): ${String(error)}`);
  });

  const serverArgs = [
    "--no-defaults",
    `--datadir=${dataDir}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--socket=${socket}`,
    `--pid-file=${join(baseDir, "mariadb.pid")}`,
    "--skip-log-bin",
    "--innodb-buffer-pool-size=128M",
    "--max-connections=500",
    ...userArgs,
  ];

  let server: ServerProcess | undefined;
  const start = async (): Promise<void> => {
    server = startServerProcess("mariadbd", serverArgs, join(baseDir, "mariadb.log"));
    await waitUntilReady("MariaDB", server, () => ping({ socketPath: socket, user: "root" }), 60_000);
  };
  await start();
  await createAdmin(socket);

  const stop = async (): Promise<void> => {
    await server?.stop();
    server = undefined;
  };
  return {
    port,
    url: `mysql://${ADMIN_USER}:${ADMIN_PASSWORD}@127.0.0.1:${port}`,
    start,
    stop,
    async kill() {
      await server?.kill();
      server = undefined;
    },
    async destroy() {
      await stop();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

async function ping(config: mysql.ConnectionOptions): Promise<void> {
  const connection = await mysql.createConnection({ ...config, connectTimeout: 1000 });
  await connection.end();
}

async function createAdmin(socketPath: string): Promise<void> {
  const connection = await mysql.createConnection({ socketPath, user: "root" });
  try {
    await connection.query(`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, [ADMIN_USER, ADMIN_PASSWORD]);
    await connection.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [ADMIN_USER]);
  } finally {
    await connection.end();
  }
}
