import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RowDataPacket } from "mysql2/promise";
import { getLogger } from "@tidbstack/service-kit";
import { createTestDatabase, freePort, type TestDatabase } from "@tidbstack/testenv";
import type { DbConfig } from "../../src/config.ts";
import { DatabaseRateLimiter, startSweeping } from "../../src/database-rate-limit.ts";
import { dbEnv, spawnEntryPoint, waitForOk, type NodeProcess } from "../processes.ts";
import { ADMIN, adminConnection, migrateTestDatabase, postJson, startApi, storeFor } from "../support.ts";

const T0 = Date.parse("2026-05-01T00:00:00.000Z");

describe("the login limit shared through the database", () => {
  let db: TestDatabase;
  let apiAccount: { user: string; password: string };
  let dbConfig: DbConfig;
  const limiters: DatabaseRateLimiter[] = [];

  before(async () => {
    db = await createTestDatabase("shared_limit");
    apiAccount = await migrateTestDatabase(db);
    dbConfig = { host: db.host, port: db.port, database: db.name, ...apiAccount };
  });
  after(async () => {
    await Promise.all(limiters.map((l) => l.close()));
    await db.drop();
  });

  /** A limiter as one API replica has it, on the API's account, with a clock the test moves. */
  const replica = (perMinute: number, clock: { now: number }): DatabaseRateLimiter => {
    const limiter = new DatabaseRateLimiter(dbConfig, { perMinute, now: () => clock.now });
    limiters.push(limiter);
    return limiter;
  };

  const rowCount = async (): Promise<number> => {
    const connection = await adminConnection(db);
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM \`${db.name}\`.login_rate_limits`,
      );
      return Number(rows[0]?.["n"]);
    } finally {
      await connection.end();
    }
  };

  it("allows exactly perMinute of 40 simultaneous attempts from one client, split over two replicas", async () => {
    const clock = { now: T0 };
    const [a, b] = [replica(10, clock), replica(10, clock)];
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).take("203.0.113.1")),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
    for (const refused of decisions.filter((d) => !d.allowed)) assert.equal(refused.retryAfterSeconds, 6);
  });

  it("regains one attempt every minute/perMinute, and never more than perMinute however long the client was away", async () => {
    const clock = { now: T0 };
    const limiter = replica(10, clock);
    for (let i = 0; i < 10; i++) assert.equal((await limiter.take("203.0.113.2")).allowed, true);
    assert.equal((await limiter.take("203.0.113.2")).allowed, false);
    clock.now += 5_999;
    assert.equal((await limiter.take("203.0.113.2")).allowed, false);
    clock.now += 1;
    assert.equal((await limiter.take("203.0.113.2")).allowed, true);
    assert.equal((await limiter.take("203.0.113.2")).allowed, false);
    clock.now += 3_600_000;
    const burst = await Promise.all(Array.from({ length: 15 }, () => limiter.take("203.0.113.2")));
    assert.equal(burst.filter((d) => d.allowed).length, 10);
  });

  it("says in Retry-After when the next attempt will be allowed, rounded up to a whole second", async () => {
    const clock = { now: T0 };
    // 7 a minute: one every 8.57 s, so the wait is not a whole number of seconds.
    const limiter = replica(7, clock);
    for (let i = 0; i < 7; i++) await limiter.take("203.0.113.3");
    const refused = await limiter.take("203.0.113.3");
    assert.deepEqual(refused, { allowed: false, retryAfterSeconds: 9 });
    clock.now += 8_000;
    assert.equal((await limiter.take("203.0.113.3")).retryAfterSeconds, 1);
    clock.now += 1_000;
    assert.equal((await limiter.take("203.0.113.3")).allowed, true);
  });

  it("keeps each client's budget separately, under a fixed-width key that is not the address", async () => {
    const clock = { now: T0 };
    const limiter = replica(1, clock);
    const long = `2001:db8::${"f".repeat(300)}`;
    assert.equal((await limiter.take("198.51.100.7")).allowed, true);
    assert.equal((await limiter.take("198.51.100.7")).allowed, false);
    assert.equal((await limiter.take(long)).allowed, true);
    assert.equal((await limiter.take(long)).allowed, false);
    const connection = await adminConnection(db);
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT client_key FROM \`${db.name}\`.login_rate_limits`,
      );
      for (const row of rows) assert.equal((row["client_key"] as Buffer).length, 32);
      assert.ok(!JSON.stringify(rows).includes("198.51.100.7"));
    } finally {
      await connection.end();
    }
  });

  it("cleanup deletes the rows of clients whose budget is full again, in batches, and keeps the others", async () => {
    const clock = { now: T0 };
    const limiter = replica(10, clock);
    const connection = await adminConnection(db);
    await connection.query(`DELETE FROM \`${db.name}\`.login_rate_limits`);
    await connection.end();
    await Promise.all(Array.from({ length: 50 }, (_, i) => limiter.take(`10.0.0.${i}`)));
    clock.now = T0 + 7_000; // those 50 clients, one attempt each, have their full budget back
    for (let i = 0; i < 10; i++) await limiter.take("10.0.1.1"); // spent: its row matters for a minute
    assert.equal(await rowCount(), 51);
    assert.deepEqual(await limiter.sweep(10, 2), { count: 20, batches: 2 }, "a sweep's work is bounded");
    assert.deepEqual(await limiter.sweep(10), { count: 30, batches: 3 });
    assert.equal(await rowCount(), 1, "the spent client's row remains");
    assert.equal(
      (await limiter.take("10.0.1.1")).allowed,
      false,
      "a sweep never gives a client back attempts",
    );
    assert.deepEqual(await limiter.sweep(10), { count: 0, batches: 0 });

    clock.now = T0 + 120_000; // past every row's time
    const sweeper = startSweeping(limiter, getLogger("api"), 50);
    try {
      const deadline = Date.now() + 10_000;
      while ((await rowCount()) > 0) {
        assert.ok(Date.now() < deadline, "the periodic sweep emptied the table");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await sweeper.stop();
    }
  });

  it("fails closed: with its database unreachable, login answers 503 JSON, never a 500, and the API keeps serving", async () => {
    const unreachable = new DatabaseRateLimiter({ ...dbConfig, port: await freePort() }, { perMinute: 10 });
    limiters.push(unreachable);
    const { store, pool } = storeFor(db, apiAccount);
    const api = await startApi(store, { limiter: unreachable });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await postJson(`${api.url}/login`, ADMIN);
        assert.equal(response.status, 503);
        assert.deepEqual(
          ((await response.json()) as { error: { code: string } }).error.code,
          "database_unavailable",
        );
      }
      assert.equal((await fetch(`${api.url}/health`)).status, 200);
      assert.equal((await fetch(`${api.url}/ready`)).status, 200, "only the limiter's database is away");
    } finally {
      await api.close();
      await pool.end();
    }
  });

  describe("two real API processes on the same database", () => {
    // Every allowed attempt costs a real scrypt hash (about a second each on a busy 2-core machine): a
    // small budget keeps the run short, and its 20 s refill interval keeps refills out of most runs.
    const PER_MINUTE = 3;
    /** One attempt regained every 20 s. */
    const INTERVAL_MS = 60_000 / PER_MINUTE;
    const processes: NodeProcess[] = [];

    const startPair = async (store: "database" | "memory"): Promise<string[]> => {
      const urls: string[] = [];
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        processes.push(
          spawnEntryPoint("main.ts", {
            ...dbEnv(db, apiAccount),
            PORT: String(port),
            METRICS_PORT: String(await freePort()),
            LOGIN_RATE_LIMIT_STORE: store,
            LOGIN_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
            // The tests play several clients through X-Forwarded-For.
            TRUST_PROXY: "true",
            LOG_LEVEL: "error",
          }),
        );
        urls.push(`http://127.0.0.1:${port}`);
      }
      await Promise.all(urls.map((url) => waitForOk(`${url}/ready`)));
      return urls;
    };

    const attempt = async (url: string, client: string, password = "wrong-password") => {
      const started = performance.now();
      const response = await postJson(`${url}/login`, { ...ADMIN, password }, { "x-forwarded-for": client });
      await response.arrayBuffer();
      return {
        url,
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        ms: performance.now() - started,
      };
    };

    /** `count` attempts from one client, one at a time, alternating between the processes. */
    const alternate = async (urls: string[], client: string, count: number) => {
      const results = [];
      for (let i = 0; i < count; i++) results.push(await attempt(urls[i % urls.length] ?? "", client));
      return results;
    };

    after(async () => {
      await Promise.all(
        processes.map(async (p) => {
          p.child.kill("SIGTERM");
          await p.exited;
        }),
      );
    });

    it("together allow perMinute attempts from one client, whichever answers, then 429 with Retry-After", async () => {
      const urls = await startPair("database");
      const started = Date.now();
      const results = await alternate(urls, "203.0.113.50", 3 * PER_MINUTE);
      const elapsed = Date.now() - started;
      const allowed = results.filter((r) => r.status !== 429);
      // Exactly the budget, plus whatever it regained while the test ran (one attempt per 20 s; the run
      // takes a few seconds, so normally none): that is the only slack a shared limit may have.
      const regained = Math.floor(elapsed / INTERVAL_MS);
      assert.ok(
        allowed.length >= PER_MINUTE && allowed.length <= PER_MINUTE + regained,
        `${allowed.length} allowed in ${elapsed} ms; expected ${PER_MINUTE} (+${regained} regained)`,
      );
      assert.deepEqual(new Set(allowed.map((r) => r.status)), new Set([401]));
      const refused = results.filter((r) => r.status === 429);
      for (const r of refused) {
        const seconds = Number(r.retryAfter);
        assert.ok(
          Number.isInteger(seconds) && seconds >= 1 && seconds <= INTERVAL_MS / 1000,
          `${r.retryAfter}`,
        );
      }
      for (const url of urls) {
        assert.ok(
          allowed.some((r) => r.url === url) && refused.some((r) => r.url === url),
          `${url} took part`,
        );
      }
    });

    it("answers a refused attempt fast while both processes are busy hashing passwords", async () => {
      const urls = await startPair("database");
      const client = "203.0.113.60";
      await alternate(urls, client, PER_MINUTE); // spends the client's budget
      // Six other clients log in at once: every one is allowed, and each process hashes one at a time.
      const loginsStarted = performance.now();
      let loginsDone = 0;
      const logins = Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          attempt(urls[i % 2] ?? "", `198.51.100.${i + 1}`, ADMIN.password).then((r) => {
            loginsDone++;
            return r;
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await alternate(urls, client, 10);
      const stillHashing = 6 - loginsDone;
      const loginResults = await logins;
      const loginsMs = performance.now() - loginsStarted;

      assert.deepEqual(
        refused.map((r) => r.status),
        Array.from({ length: 10 }, () => 429),
      );
      assert.deepEqual(
        loginResults.map((r) => r.status),
        Array.from({ length: 6 }, () => 200),
      );
      const slowestRefusal = Math.max(...refused.map((r) => r.ms));
      const fastestLogin = Math.min(...loginResults.map((r) => r.ms));
      console.log(
        `refused: max ${slowestRefusal.toFixed(1)} ms over 10; logins: fastest ${fastestLogin.toFixed(0)} ms, ` +
          `all 6 in ${loginsMs.toFixed(0)} ms, ${stillHashing} still hashing after the refusals`,
      );
      assert.ok(stillHashing > 0, "the refusals were answered while logins were still being hashed");
      // A refusal that waited for a hashing slot would take at least one hash, as long as the fastest login
      // (the first in its process's queue). Well under that, and under a second on a busy machine, it did not.
      assert.ok(
        slowestRefusal < Math.min(1000, fastestLogin / 3),
        `a refusal took ${slowestRefusal.toFixed(1)} ms; the fastest login ${fastestLogin.toFixed(0)} ms`,
      );
    });

    it("with the per-process memory store instead, the same two processes allow twice as many (the problem solved above)", async () => {
      const urls = await startPair("memory");
      const started = Date.now();
      const results = await alternate(urls, "203.0.113.70", 3 * PER_MINUTE);
      const allowed = results.filter((r) => r.status !== 429).length;
      // Each process regains on its own, so the slack doubles too.
      const regained = 2 * Math.floor((Date.now() - started) / INTERVAL_MS);
      assert.ok(allowed >= 2 * PER_MINUTE && allowed <= 2 * PER_MINUTE + regained, `${allowed} allowed`);
    });
  });
});
