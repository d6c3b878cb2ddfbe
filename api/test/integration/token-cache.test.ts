import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Connection, RowDataPacket } from "mysql2/promise";
import {
  createTestDatabase,
  freePort,
  startMariaDb,
  type MariaDbServer,
  type TestDatabase,
} from "@tidbstack/testenv";
import { hashToken } from "../../src/tokens.ts";
import { dbEnv, spawnEntryPoint, waitForOk, type NodeProcess } from "../processes.ts";
import { adminConnection, bearer, migrateTestDatabase, postJson } from "../support.ts";

/**
 * The /me token cache across real API processes (src/main.ts, cache on at its defaults) sharing one
 * database: what each process may still serve after a logout elsewhere, a revocation or deletion by SQL,
 * a token's expiry, and a database outage.
 */
const BOUND_MS = 1000;
const MAX_AGE_SECONDS = 3;

interface Api {
  readonly url: string;
  readonly process: NodeProcess;
}

async function startApiProcess(db: TestDatabase, account: { user: string; password: string }): Promise<Api> {
  const port = await freePort();
  const process = spawnEntryPoint("main.ts", {
    ...dbEnv(db, account),
    PORT: String(port),
    // Two processes on one host: each needs a metrics port of its own.
    METRICS_PORT: String(await freePort()),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    TOKEN_CACHE_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS),
    TOKEN_CACHE_REVOCATION_BOUND_MS: String(BOUND_MS),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/health`);
  return { url, process };
}

const meStatus = async (api: Api, token: string): Promise<number> =>
  (await fetch(`${api.url}/me`, { headers: bearer(token) })).status;

/** Inserts a token for the seed admin (id 1) directly, valid for `ttlMs`, and returns it. */
async function insertToken(connection: Connection, db: TestDatabase, ttlMs = 3_600_000): Promise<string> {
  const token = randomUUID();
  const now = Date.now();
  await connection.query(
    `INSERT INTO \`${db.name}\`.tokens (user_id, token_hash, created_at, expires_at) VALUES (1, ?, ?, ?)`,
    [hashToken(token), new Date(now), new Date(now + ttlMs)],
  );
  return token;
}

/**
 * Asks `api` for `token`'s user, back to back, until it refuses (a 401): returns how long after `since`
 * the last request it still answered was sent (0 when none was). Fails after `timeoutMs`.
 */
async function msServedAfter(api: Api, token: string, since: number, timeoutMs: number): Promise<number> {
  let lastServed = 0;
  for (;;) {
    const sentAt = performance.now();
    const status = await meStatus(api, token);
    if (status === 401) return lastServed;
    assert.equal(status, 200);
    lastServed = sentAt - since;
    if (lastServed > timeoutMs) throw new Error(`still served ${Math.round(lastServed)} ms later`);
  }
}

const summary = (ms: number[]): string => {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  return `${ms.length} trials: median ${at(0.5)} ms, p99 ${at(0.99)} ms, worst ${Math.round(sorted.at(-1) ?? NaN)} ms`;
};

describe("the /me token cache across two API processes on one database", () => {
  let db: TestDatabase;
  let connection: Connection;
  let one: Api;
  let other: Api;

  before(async () => {
    db = await createTestDatabase("tokencache");
    const account = await migrateTestDatabase(db);
    connection = await adminConnection(db);
    [one, other] = await Promise.all([startApiProcess(db, account), startApiProcess(db, account)]);
  });
  after(async () => {
    one.process.kill();
    other.process.kill();
    await connection.end();
    await db.drop();
  });

  it("refuses a token logged out on one process on the other within the bound, over 100 trials", async () => {
    const servedAfter: number[] = [];
    for (let trial = 0; trial < 100; trial++) {
      const token = await insertToken(connection, db);
      // Both processes have the session cached.
      for (const api of [one, other, other]) assert.equal(await meStatus(api, token), 200);
      assert.equal((await postJson(`${one.url}/logout`, {}, bearer(token))).status, 204);
      const loggedOut = performance.now();
      // The process that logged out forgets the token at once.
      assert.equal(await meStatus(one, token), 401);
      servedAfter.push(await msServedAfter(other, token, loggedOut, 5000));
    }
    console.log(`logout on one process, last served by the other after: ${summary(servedAfter)}`);
    assert.ok(Math.max(...servedAfter) < BOUND_MS, summary(servedAfter));
  });

  it("refuses a token revoked by SQL on every process within the bound", async () => {
    const servedAfter: number[] = [];
    for (let trial = 0; trial < 20; trial++) {
      const token = await insertToken(connection, db);
      for (const api of [one, other]) assert.equal(await meStatus(api, token), 200);
      await connection.query(
        `UPDATE \`${db.name}\`.tokens SET revoked_at = UTC_TIMESTAMP(3) WHERE token_hash = ?`,
        [hashToken(token)],
      );
      const revoked = performance.now();
      const [a, b] = await Promise.all([one, other].map((api) => msServedAfter(api, token, revoked, 5000)));
      servedAfter.push(Math.max(a ?? NaN, b ?? NaN));
    }
    console.log(`revoked by SQL, last served by either process after: ${summary(servedAfter)}`);
    assert.ok(Math.max(...servedAfter) < BOUND_MS, summary(servedAfter));
  });

  it("refuses a token whose row was deleted by hand within the maximum age", async () => {
    const token = await insertToken(connection, db);
    assert.equal(await meStatus(other, token), 200);
    await connection.query(`DELETE FROM \`${db.name}\`.tokens WHERE token_hash = ?`, [hashToken(token)]);
    const deleted = performance.now();
    const servedAfter = await msServedAfter(other, token, deleted, MAX_AGE_SECONDS * 1000 + 5000);
    console.log(
      `deleted by SQL, last served ${Math.round(servedAfter)} ms later (maximum age ${MAX_AGE_SECONDS} s)`,
    );
    assert.ok(servedAfter < MAX_AGE_SECONDS * 1000, `${servedAfter} ms`);
  });

  it("never answers /me for a token after its expiry, even while it is cached", async () => {
    const expiresInMs = 2000;
    const token = await insertToken(connection, db, expiresInMs);
    const [row] = await connection.query<RowDataPacket[]>(
      `SELECT expires_at FROM \`${db.name}\`.tokens WHERE token_hash = ?`,
      [hashToken(token)],
    );
    const expiresAt = (row[0]?.["expires_at"] as Date).getTime();
    let served = 0;
    while (Date.now() < expiresAt + 500) {
      const sentAt = Date.now();
      const status = await meStatus(other, token);
      if (status === 200) {
        served++;
        assert.ok(sentAt < expiresAt, `served ${sentAt - expiresAt} ms after the token expired`);
      } else assert.equal(status, 401);
    }
    assert.ok(served > 0, "the token was served before it expired");
    assert.equal(await meStatus(other, token), 401);
  });
});

describe("the /me token cache while the database is down", () => {
  let server: MariaDbServer;
  let db: TestDatabase;
  let api: Api;

  before(async () => {
    server = await startMariaDb();
    db = await createTestDatabase("tokencachedown", server.url);
    api = await startApiProcess(db, await migrateTestDatabase(db));
  });
  after(async () => {
    api.process.kill();
    await server.destroy();
  });

  it("stops serving cached sessions once the bound has passed, then answers 503", async () => {
    const connection = await adminConnection(db);
    const token = await insertToken(connection, db).finally(() => connection.end());
    assert.equal(await meStatus(api, token), 200);
    assert.equal(await meStatus(api, token), 200);
    await server.kill();
    const down = performance.now();
    let lastServed: number | undefined;
    let status = 200;
    while (performance.now() - down < BOUND_MS + 2000) {
      const sentAt = performance.now();
      status = await meStatus(api, token);
      if (status === 200) lastServed = sentAt - down;
      else assert.equal(status, 503);
    }
    console.log(
      lastServed === undefined
        ? "database killed: /me answered 503 from the first request"
        : `database killed: the cache served /me until ${Math.round(lastServed)} ms later, then 503`,
    );
    assert.ok(
      lastServed === undefined || lastServed < BOUND_MS,
      `served ${lastServed} ms after the outage began`,
    );
    assert.equal(status, 503);
  });
});
