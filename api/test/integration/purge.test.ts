import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { createTestDatabase, freePort, type TestDatabase } from "@tidbstack/testenv";
import { createPool } from "../../src/database.ts";
import { purgeTokens } from "../../src/token-purge.ts";
import { dbEnv, spawnEntryPoint, waitForOk, type NodeProcess } from "../processes.ts";
import { adminConnection, migrateTestDatabase, purgeAccountOf } from "../support.ts";

const HOUR = 3_600_000;

interface TokenRow {
  readonly expiresAt: Date;
  readonly revokedAt?: Date;
}

/** Inserts tokens for the seed admin and returns their ids, in order. */
async function insertTokens(db: TestDatabase, rows: readonly TokenRow[]): Promise<number[]> {
  const connection = await adminConnection(db);
  try {
    const ids: number[] = [];
    // A few thousand rows per statement keeps even the large fixtures to a handful of round trips.
    for (let start = 0; start < rows.length; start += 2000) {
      const chunk = rows.slice(start, start + 2000);
      const [result] = await connection.query<mysql.ResultSetHeader>(
        `INSERT INTO \`${db.name}\`.tokens (user_id, token_hash, created_at, expires_at, revoked_at) VALUES ?`,
        [
          chunk.map((row) => [
            1,
            randomBytes(32).toString("hex"),
            new Date(row.expiresAt.getTime() - HOUR),
            row.expiresAt,
            row.revokedAt ?? null,
          ]),
        ],
      );
      // Consecutive ids for a multi-row insert (innodb_autoinc_lock_mode 1 or 2 without concurrent inserts).
      ids.push(...chunk.map((_, i) => result.insertId + i));
    }
    return ids;
  } finally {
    await connection.end();
  }
}

async function tokenIds(db: TestDatabase): Promise<number[]> {
  const connection = await adminConnection(db);
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT id FROM \`${db.name}\`.tokens ORDER BY id`,
    );
    return rows.map((row) => Number(row["id"]));
  } finally {
    await connection.end();
  }
}

async function clearTokens(db: TestDatabase): Promise<void> {
  const connection = await adminConnection(db);
  try {
    await connection.query(`DELETE FROM \`${db.name}\`.tokens`);
  } finally {
    await connection.end();
  }
}

describe("the token purge against a real database", () => {
  let db: TestDatabase;
  const processes: NodeProcess[] = [];

  before(async () => {
    db = await createTestDatabase("purge");
    await migrateTestDatabase(db);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill();
    await clearTokens(db);
  });
  after(() => db.drop());

  const purgeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...dbEnv(db, purgeAccountOf(db)),
    ...extra,
  });
  const spawnPurge = (env: Record<string, string>, args: string[] = []): NodeProcess => {
    const p = spawnEntryPoint("purge.ts", env, args);
    processes.push(p);
    return p;
  };

  it("deletes exactly the tokens expired or revoked before the cutoff and keeps the rest, in batches of the configured size", async () => {
    const cutoff = new Date("2026-03-01T00:00:00.000Z");
    const at = (offsetMs: number): Date => new Date(cutoff.getTime() + offsetMs);
    const due: TokenRow[] = [
      ...Array.from({ length: 17 }, (_, i) => ({ expiresAt: at(-(i + 1) * 1000) })),
      // Revoked long ago but not yet expired: a logout before the cutoff.
      ...Array.from({ length: 8 }, () => ({ expiresAt: at(10 * HOUR), revokedAt: at(-HOUR) })),
    ];
    const kept: TokenRow[] = [
      { expiresAt: at(1) }, // expired, but within the grace period
      { expiresAt: at(0) }, // exactly at the cutoff: not before it
      { expiresAt: at(HOUR), revokedAt: at(1000) }, // revoked within the grace period
      { expiresAt: at(30 * 24 * HOUR) }, // live
    ];
    // Interleaved, so batches by id mix due rows with rows that stay.
    const rows = due.flatMap((row, i) => (i < kept.length ? [row, kept[i] as TokenRow] : [row]));
    const ids = await insertTokens(db, rows);
    const keptIds = ids.filter((_, i) => kept.includes(rows[i] as TokenRow));

    const pool = createPool({ host: db.host, port: db.port, database: db.name, ...purgeAccountOf(db) });
    try {
      const batches: number[] = [];
      const result = await purgeTokens(pool, {
        cutoff,
        batchSize: 10,
        onBatch: (deleted) => batches.push(deleted),
      });
      assert.deepEqual(result, { count: 25, batches: 3, interrupted: false });
      assert.deepEqual(batches, [10, 10, 5]);
      assert.deepEqual(await tokenIds(db), keptIds);

      const again = await purgeTokens(pool, { cutoff, batchSize: 10 });
      assert.deepEqual(again, { count: 0, batches: 0, interrupted: false }, "nothing left to purge");
    } finally {
      await pool.end();
    }
  });

  it("needs no extra batch when the due rows fill the last one exactly", async () => {
    const cutoff = new Date("2026-03-01T00:00:00.000Z");
    await insertTokens(
      db,
      Array.from({ length: 20 }, () => ({ expiresAt: new Date(cutoff.getTime() - HOUR) })),
    );
    const pool = createPool({ host: db.host, port: db.port, database: db.name, ...purgeAccountOf(db) });
    try {
      assert.deepEqual(await purgeTokens(pool, { cutoff, batchSize: 10 }), {
        count: 20,
        batches: 2,
        interrupted: false,
      });
    } finally {
      await pool.end();
    }
  });

  it("with --once, purges what is past PURGE_GRACE_SECONDS, logs one tokens_purged JSON line and exits 0", async () => {
    const now = Date.now();
    const ids = await insertTokens(db, [
      { expiresAt: new Date(now - 3 * HOUR) }, // due
      { expiresAt: new Date(now - HOUR / 2) }, // within the one-hour grace
      { expiresAt: new Date(now + HOUR), revokedAt: new Date(now - 2 * HOUR) }, // due
      { expiresAt: new Date(now + HOUR) }, // live
      ...Array.from({ length: 5 }, () => ({ expiresAt: new Date(now - 2 * HOUR) })), // due
    ]);
    const purge = spawnPurge(purgeEnv({ PURGE_GRACE_SECONDS: "3600", PURGE_BATCH_SIZE: "3" }), ["--once"]);
    assert.equal(await purge.exited, 0, purge.stderr());
    const runs = purge.lines.filter((line) => line["action"] === "tokens_purged");
    assert.equal(runs.length, 1);
    const run = runs[0] ?? {};
    assert.deepEqual(Object.keys(run).sort(), [
      "action",
      "batches",
      "count",
      "durationMs",
      "level",
      "timestamp",
    ]);
    assert.equal(run["count"], 7);
    assert.equal(run["batches"], 3);
    assert.equal(typeof run["durationMs"], "number");
    assert.deepEqual(await tokenIds(db), [ids[1], ids[3]]);
  });

  it("exits 1 with one line naming the variable when its configuration is bad", async () => {
    for (const [env, variable] of [
      [{ PURGE_BATCH_SIZE: "0" }, "PURGE_BATCH_SIZE"],
      [{ PURGE_GRACE_SECONDS: "a day" }, "PURGE_GRACE_SECONDS"],
      [{ DB_USER: "" }, "DB_USER"],
    ] as const) {
      const purge = spawnPurge(purgeEnv(env), ["--once"]);
      assert.equal(await purge.exited, 1);
      const line = JSON.parse(purge.stderr().trim()) as Record<string, unknown>;
      assert.equal(line["action"], "config_invalid");
      assert.equal(line["variable"], variable);
    }
    const typo = spawnPurge(purgeEnv(), ["--onse"]);
    assert.equal(await typo.exited, 1);
    const line = JSON.parse(typo.stderr().trim()) as Record<string, unknown>;
    assert.equal(line["msg"], 'arguments "--onse" is not an option (usage: purge [--once])');
  });

  it("with --once, exits 1 and logs purge_failed when the database refuses it", async () => {
    const purge = spawnPurge(purgeEnv({ DB_PASSWORD: "wrong" }), ["--once"]);
    assert.equal(await purge.exited, 1);
    assert.ok(purge.lines.some((line) => line["action"] === "purge_failed"));
  });

  it("as a service, purges every PURGE_INTERVAL_SECONDS, serves /metrics and /health, and exits 0 on SIGTERM", async () => {
    const old = (): TokenRow => ({ expiresAt: new Date(Date.now() - 2 * HOUR) });
    await insertTokens(db, [old(), old(), old()]);
    const port = await freePort();
    const purge = spawnPurge(
      purgeEnv({ PURGE_INTERVAL_SECONDS: "1", PURGE_GRACE_SECONDS: "3600", METRICS_PORT: String(port) }),
    );
    const first = await purge.waitForLine("of the first run", (l) => l["action"] === "tokens_purged");
    assert.equal(first["count"], 3);
    await insertTokens(db, [old(), old()]);
    const second = await purge.waitForLine(
      "of a run that found the new rows",
      (l) => l["action"] === "tokens_purged" && l["count"] === 2,
      10_000,
    );
    assert.ok(Date.parse(String(second["timestamp"])) - Date.parse(String(first["timestamp"])) >= 900);

    await waitForOk(`http://127.0.0.1:${port}/health`);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^tokens_purged_total 5$/m);
    assert.match(metrics, /^token_purge_run_duration_seconds_count \d+$/m);
    assert.match(metrics, /^token_purge_failures_total 0$/m);
    assert.match(metrics, /^token_purge_last_success_timestamp_seconds \d/m);
    assert.match(metrics, /^process_resident_memory_bytes \d/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);

    const signalled = Date.now();
    purge.child.kill("SIGTERM");
    assert.equal(await purge.exited, 0);
    assert.ok(Date.now() - signalled < 5000, "an idle service stops at once");
  });

  it("on SIGTERM in the middle of a run, stops after the batch in progress and logs exactly what it deleted", async () => {
    const rows = Array.from({ length: 3000 }, () => ({ expiresAt: new Date(Date.now() - 2 * HOUR) }));
    await insertTokens(db, rows);
    // One row per batch: the run takes seconds, so the signal lands in the middle of it.
    const purge = spawnPurge(
      purgeEnv({
        PURGE_GRACE_SECONDS: "3600",
        PURGE_BATCH_SIZE: "1",
        LOG_LEVEL: "debug",
        METRICS_PORT: String(await freePort()),
      }),
    );
    await purge.waitForLine("of a first batch", (l) => l["action"] === "tokens_purge_batch");
    purge.child.kill("SIGTERM");
    assert.equal(await purge.exited, 0, purge.stderr());
    const run = purge.lines.find((l) => l["action"] === "tokens_purged");
    assert.equal(run?.["interrupted"], true);
    const count = Number(run?.["count"]);
    assert.ok(count >= 1 && count < rows.length, `deleted ${count} of ${rows.length} before stopping`);
    assert.equal(run?.["batches"], count);
    assert.equal((await tokenIds(db)).length, rows.length - count, "the line accounts for every deleted row");
  });
});
