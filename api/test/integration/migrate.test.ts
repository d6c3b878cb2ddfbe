import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RowDataPacket } from "mysql2/promise";
import mysql from "mysql2/promise";
import { getLogger } from "@tidbstack/service-kit";
import { createTestDatabase, type TestDatabase } from "@tidbstack/testenv";
import { MIGRATIONS } from "../../src/migrations.ts";
import { migrate } from "../../src/migrator.ts";
import { PasswordHasher } from "../../src/passwords.ts";
import { ADMIN, adminConnection } from "../support.ts";

describe("migrate against a real database", () => {
  let db: TestDatabase;
  const app = { user: "", password: "app-secret" };
  const purge = { user: "", password: "purge-secret" };

  before(async () => {
    db = await createTestDatabase("migrate");
    app.user = `${db.name}_app`.slice(0, 32);
    purge.user = `${db.name}_purge`.slice(0, 32);
  });
  const connectAs = (account: { user: string; password: string }) =>
    mysql.createConnection({ host: db.host, port: db.port, ...account, database: db.name });
  after(() => db.drop());
  /** Each statement is refused for want of a privilege. */
  const assertDenied = async (connection: mysql.Connection, statements: readonly string[]) => {
    for (const sql of statements) await assert.rejects(connection.query(sql), /denied/i, sql);
  };

  it("creates the schema, records the version and seeds the admin on a fresh database", async () => {
    const connection = await adminConnection(db);
    try {
      const report = await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge);
      assert.deepEqual(report, { applied: [1, 2, 3], seedUser: "created" });
      const [tables] = await connection.query<RowDataPacket[]>("SHOW TABLES");
      assert.deepEqual(tables.map((row) => String(Object.values(row)[0])).sort(), [
        "login_rate_limits",
        "schema_migrations",
        "tokens",
        "users",
      ]);
      const [users] = await connection.query<RowDataPacket[]>("SELECT email, password_hash FROM users");
      assert.equal(users.length, 1);
      assert.equal(users[0]?.["email"], ADMIN.email);
      assert.match(String(users[0]?.["password_hash"]), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal(
        (await new PasswordHasher().verify(ADMIN.password, String(users[0]?.["password_hash"]))).valid,
        true,
      );
    } finally {
      await connection.end();
    }
  });

  it("gives every table a primary key, tokens the indexes its lookups and its purge need, and the limiter its sweep index", async () => {
    const connection = await adminConnection(db);
    try {
      const [keys] = await connection.query<RowDataPacket[]>(
        `SELECT table_name AS t, index_name AS i, non_unique AS n, column_name AS c FROM information_schema.statistics
         WHERE table_schema = ? ORDER BY t, i`,
        [db.name],
      );
      const described = keys.map(
        (k) =>
          `${String(k["t"])}.${String(k["i"])}(${String(k["c"])})${Number(k["n"]) === 0 ? " unique" : ""}`,
      );
      for (const expected of [
        "schema_migrations.PRIMARY(version) unique",
        "tokens.PRIMARY(id) unique",
        "users.PRIMARY(id) unique",
        "users.uq_users_email(email) unique",
        "tokens.uq_tokens_token_hash(token_hash) unique",
        "tokens.idx_tokens_user_id(user_id)",
        "tokens.idx_tokens_expires_at(expires_at)",
        "tokens.idx_tokens_revoked_at(revoked_at)",
        "login_rate_limits.PRIMARY(client_key) unique",
        "login_rate_limits.idx_login_rate_limits_tat_us(tat_us)",
      ]) {
        assert.ok(described.includes(expected), `${expected} missing from ${described.join(", ")}`);
      }
    } finally {
      await connection.end();
    }
  });

  it("is idempotent: twice at the same time, then again, applies nothing twice and leaves one admin", async () => {
    const [a, b] = [await adminConnection(db), await adminConnection(db)];
    try {
      const reports = await Promise.all([
        migrate(a, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge),
        migrate(b, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge),
      ]);
      assert.deepEqual(reports, [
        { applied: [], seedUser: "unchanged" },
        { applied: [], seedUser: "unchanged" },
      ]);
      const again = await migrate(a, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge);
      assert.deepEqual(again, { applied: [], seedUser: "unchanged" });
      const [counts] = await a.query<RowDataPacket[]>(
        "SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM schema_migrations) AS m",
      );
      assert.deepEqual({ u: Number(counts[0]?.["u"]), m: Number(counts[0]?.["m"]) }, { u: 1, m: 3 });
      await (await connectAs(purge)).end();
      await (await connectAs(app)).end();
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("runs concurrently on a fresh database without failing or duplicating anything", async () => {
    const fresh = await createTestDatabase("migrate_race");
    const connections = await Promise.all([1, 2, 3].map(() => adminConnection(fresh)));
    try {
      const reports = await Promise.all(
        connections.map((c) => migrate(c, fresh.name, MIGRATIONS, ADMIN, getLogger("m"))),
      );
      assert.deepEqual(
        reports.flatMap((r) => r.applied).sort(),
        [1, 2, 3],
        "exactly one run applies each migration",
      );
      assert.deepEqual(reports.map((r) => r.seedUser).sort(), ["created", "unchanged", "unchanged"]);
    } finally {
      await Promise.all(connections.map((c) => c.end()));
      await fresh.drop();
    }
  });

  it("resets the seed admin's password when ADMIN_PASSWORD changes", async () => {
    const connection = await adminConnection(db);
    try {
      const report = await migrate(
        connection,
        db.name,
        MIGRATIONS,
        { email: "Admin@Test.com", password: "rotated" },
        getLogger("m"),
        app,
        purge,
      );
      assert.equal(report.seedUser, "updated");
      const [users] = await connection.query<RowDataPacket[]>("SELECT password_hash FROM users");
      assert.equal(users.length, 1);
      assert.equal(
        (await new PasswordHasher().verify("rotated", String(users[0]?.["password_hash"]))).valid,
        true,
      );
      await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge);
    } finally {
      await connection.end();
    }
  });

  it("sets the accounts' passwords again on every run, so rotating one is a config change and a re-run", async () => {
    const connection = await adminConnection(db);
    const rotated = {
      app: { ...app, password: "app-rotated" },
      purge: { ...purge, password: "purge-rotated" },
    };
    try {
      await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("m"), rotated.app, rotated.purge);
      for (const [old, current] of [
        [app, rotated.app],
        [purge, rotated.purge],
      ] as const) {
        await assert.rejects(connectAs(old), /denied/i, `${old.user}'s old password`);
        await (await connectAs(current)).end();
      }
    } finally {
      await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge);
      await connection.end();
    }
  });

  it("runs an ADD INDEX again harmlessly when a run stopped before recording it", async () => {
    const connection = await adminConnection(db);
    try {
      await connection.query(`DELETE FROM \`${db.name}\`.schema_migrations WHERE version = 2`);
      const report = await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("m"), app, purge);
      assert.deepEqual(report.applied, [2]);
    } finally {
      await connection.end();
    }
  });

  it("gives the API account least privilege: read users and rehash their passwords, read/write tokens, keep the login limit, nothing else", async () => {
    const connection = await connectAs(app);
    try {
      await connection.query("SELECT id FROM users");
      await connection.query("UPDATE users SET password_hash = password_hash WHERE id = -1");
      await connection.query("SELECT id FROM tokens");
      await connection.query(
        "INSERT INTO login_rate_limits (client_key, tat_us) VALUES (REPEAT('k', 32), 1)",
      );
      await connection.query("UPDATE login_rate_limits SET tat_us = 2");
      await connection.query("SELECT client_key FROM login_rate_limits");
      await connection.query("DELETE FROM login_rate_limits");
      const refused = [
        "DELETE FROM users",
        "INSERT INTO users (email, password_hash) VALUES ('x', 'y')",
        "DELETE FROM tokens",
        "DROP TABLE tokens",
        "CREATE TABLE t (id INT PRIMARY KEY)",
        "SELECT * FROM mysql.user",
      ];
      await assertDenied(connection, refused);
    } finally {
      await connection.end();
    }
  });

  it("gives the purge account least privilege: SELECT and DELETE on tokens, nothing else", async () => {
    const connection = await connectAs(purge);
    try {
      await connection.query("SELECT id, expires_at, revoked_at FROM tokens");
      await connection.query("DELETE FROM tokens WHERE id = -1");
      const refused = [
        "INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES (1, 'x', NOW(), NOW())",
        "UPDATE tokens SET revoked_at = NOW()",
        "SELECT id FROM users",
        "DELETE FROM users",
        "SELECT client_key FROM login_rate_limits",
        "DROP TABLE tokens",
        "CREATE TABLE t (id INT PRIMARY KEY)",
        "SELECT * FROM mysql.user",
      ];
      await assertDenied(connection, refused);
    } finally {
      await connection.end();
    }
  });
});
