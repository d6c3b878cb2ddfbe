/**
 * What integration tests import: the addresses of the servers the test runner started (from the
 * environment, so a missing server fails loudly) and helpers that give each test its own database, topics
 * and consumer groups. Tests that must stop or restart a server start a private one with startMariaDb() or
 * startKafka(), so they never disturb the shared servers.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

export { startMariaDb, type MariaDbServer } from "./mariadb.ts";
export { startKafka, type KafkaBroker, KAFKA_LIBS_DIR } from "./kafka.ts";
export {
  eventually,
  freePort,
  listenOnLoopback,
  type ServerProcess,
  startServerProcess,
  waitUntilReady,
} from "./processes.ts";
export { assertRefusesConfig } from "./entrypoints.ts";
export {
  parseResponses,
  rawExchange,
  rawRequest,
  type RawExchangeOptions,
  type RawResponse,
} from "./raw-http.ts";
export {
  openSlowClients,
  percentile,
  sampleLatency,
  type HeldConnection,
  type SlowClients,
} from "./slow-clients.ts";
export { machineDescription, median, writeSection } from "./report.ts";
export { mergeProfiles, topSelfTime, type CpuProfile } from "./profile.ts";
export {
  docker,
  dockerAvailable,
  dockerLogs,
  imageExists,
  type NetworkRelay,
  relayFromNetwork,
  removeLabelled,
  runContainer,
  type ContainerRun,
  type ContainerUpload,
  TEST_LABEL,
  TEST_RUN_ID,
  waitHealthy,
} from "./docker.ts";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} is not set: integration tests need the servers that scripts/test.sh starts (run them with 'npm test')`,
    );
  }
  return value;
}

/** Admin URL of the shared MariaDB, e.g. `mysql://testadmin:...@127.0.0.1:41234`. */
export const mysqlUrl = (): string => required("TEST_MYSQL_URL");

/** Bootstrap servers of the shared Kafka broker, e.g. `["127.0.0.1:41235"]`. */
export const kafkaBrokers = (): string[] => required("TEST_KAFKA_BROKERS").split(",");

/** A name no other test uses: `<prefix>_<random hex>`, valid as a database, topic or group name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

export interface TestDatabase {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The admin account (may create users and grant). */
  readonly user: string;
  readonly password: string;
  drop(): Promise<void>;
}

/** Creates a fresh, empty database for one test file on the given server (default: the shared one). */
export async function createTestDatabase(
  prefix: string,
  serverUrl: string = mysqlUrl(),
): Promise<TestDatabase> {
  const url = new URL(serverUrl);
  const name = uniqueName(prefix);
  const admin = {
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  const connection = await mysql.createConnection(admin);
  try {
    await connection.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await connection.end();
  }
  return {
    name,
    ...admin,
    async drop() {
      const c = await mysql.createConnection(admin);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
