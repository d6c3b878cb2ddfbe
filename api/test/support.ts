import { createServer, type Server } from "node:http";
import mysql from "mysql2/promise";
import { captureLogLines, getLogger, type LogFields } from "@tidbstack/service-kit";
import { createTestDatabase, listenOnLoopback, type TestDatabase } from "@tidbstack/testenv";
import { createApp, type AppDeps } from "../src/app.ts";
import { createPool } from "../src/database.ts";
import { createApiMetrics } from "../src/metrics.ts";
import { MIGRATIONS } from "../src/migrations.ts";
import { migrate } from "../src/migrator.ts";
import type { PasswordHasher } from "../src/passwords.ts";
import type { LoginRateLimiter } from "../src/rate-limit.ts";
import type { SessionLookup } from "../src/sessions.ts";
import { createAuthStore, type AuthStore } from "../src/store.ts";

export const ADMIN = { email: "admin@test.com", password: "temp-password" } as const;

export interface RunningApi {
  readonly url: string;
  /** Every JSON log line the app wrote, parsed. */
  readonly logs: () => LogFields[];
  readonly rawLogs: string[];
  readonly metricsText: () => Promise<string>;
  close(): Promise<void>;
}

type ConfigOverrides = Partial<AppDeps["config"]>;

/** Runs createApp() on an ephemeral port with logs captured, the way main.ts runs it. */
export async function startApi(
  store: AuthStore,
  options: {
    config?: ConfigOverrides;
    clock?: () => Date;
    limiter?: LoginRateLimiter;
    passwords?: PasswordHasher;
    sessions?: SessionLookup;
  } = {},
): Promise<RunningApi> {
  const capture = captureLogLines("debug");
  const metrics = createApiMetrics();
  const config = {
    tokenTtlSeconds: 3600,
    loginRateLimitPerMinute: 1000,
    trustProxy: false,
    ...options.config,
  };
  const deps: AppDeps = {
    store,
    logger: getLogger("api"),
    metrics,
    config,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.limiter === undefined ? {} : { limiter: options.limiter }),
    ...(options.passwords === undefined ? {} : { passwords: options.passwords }),
    ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
  };
  const app = createApp(deps);
  const server: Server = createServer(app);
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    logs: capture.records,
    rawLogs: capture.lines,
    metricsText: () => metrics.registry.metrics(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export const adminConnection = (db: TestDatabase): Promise<mysql.Connection> =>
  mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    timezone: "Z",
  });

/** The token purge's account on a database migrated by migrateTestDatabase(). */
export const purgeAccountOf = (db: TestDatabase): { user: string; password: string } => ({
  user: `${db.name.slice(0, 20)}_purge`,
  password: "purge-password",
});

/**
 * Migrates a test database (schema, seed admin, the least-privilege API and purge accounts) and returns the
 * API's account.
 */
export async function migrateTestDatabase(db: TestDatabase): Promise<{ user: string; password: string }> {
  const appAccount = { user: `${db.name.slice(0, 20)}_app`, password: "app-password" };
  const connection = await adminConnection(db);
  try {
    await migrate(
      connection,
      db.name,
      MIGRATIONS,
      ADMIN,
      getLogger("migrate"),
      appAccount,
      purgeAccountOf(db),
    );
  } finally {
    await connection.end();
  }
  return appAccount;
}

/** A store backed by a real pool, connected as the given account; close the pool after the test. */
export function storeFor(db: TestDatabase, account: { user: string; password: string }) {
  const pool = createPool({ host: db.host, port: db.port, database: db.name, ...account });
  return { store: createAuthStore(pool), pool };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function login(
  apiUrl: string,
  credentials: { email: string; password: string } = ADMIN,
): Promise<string> {
  const response = await postJson(`${apiUrl}/login`, credentials);
  if (response.status !== 200)
    throw new Error(`login failed with ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface ApiOnDatabase {
  readonly api: RunningApi;
  readonly db: TestDatabase;
  /** Stops the app, closes its pool and drops the database. */
  close(): Promise<void>;
}

/**
 * A fresh, migrated database (on the shared server, or on `serverUrl`) and the API running on it as its
 * least-privilege account: what most API integration tests start from.
 */
export async function startApiOnTestDatabase(
  prefix: string,
  options: { serverUrl?: string; config?: ConfigOverrides; clock?: () => Date } = {},
): Promise<ApiOnDatabase> {
  const { serverUrl, ...apiOptions } = options;
  const db = await createTestDatabase(prefix, serverUrl);
  const { store, pool } = storeFor(db, await migrateTestDatabase(db));
  const api = await startApi(store, apiOptions);
  return {
    api,
    db,
    async close() {
      await api.close();
      await pool.end();
      await db.drop();
    },
  };
}
