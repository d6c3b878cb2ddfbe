import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import mysql from "mysql2/promise";
import { createTestDatabase, uniqueName, type TestDatabase } from "@tidbstack/testenv";
import { ADMIN, adminConnection } from "../support.ts";

const run = promisify(execFile);
const MIGRATE = fileURLToPath(new URL("../../src/migrate.ts", import.meta.url));

describe("the migrate command (what the Pulumi init step runs)", () => {
  let db: TestDatabase;
  const root = { user: uniqueName("root").slice(0, 30), password: "chosen-root-password" };

  before(async () => {
    db = await createTestDatabase("migrate_cmd");
    // Stands in for a new TiDB cluster: an all-powerful account with an empty password.
    const connection = await adminConnection(db);
    try {
      await connection.query("CREATE USER ?@'%' IDENTIFIED BY ''", [root.user]);
      await connection.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [root.user]);
    } finally {
      await connection.end();
    }
  });
  after(() => db.drop());

  const migrate = (extra: Record<string, string> = {}) =>
    run(process.execPath, ["--conditions=source", MIGRATE], {
      env: {
        PATH: process.env["PATH"] ?? "",
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_USER: root.user,
        DB_PASSWORD: root.password,
        DB_NAME: db.name,
        DB_BOOTSTRAP_EMPTY_PASSWORD: "true",
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        APP_DB_USER: `${db.name}_api`.slice(0, 32),
        APP_DB_PASSWORD: "api-password",
        PURGE_DB_USER: `${db.name}_purge`.slice(0, 32),
        PURGE_DB_PASSWORD: "purge-password",
        ...extra,
      },
    });

  it("run twice at once on a new cluster, both exit 0, the root password gets set, and it logs JSON without secrets", async () => {
    const results = await Promise.all([migrate(), migrate()]);
    const output = results.map((r) => r.stdout).join("");
    const lines = output
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.filter((l) => l["action"] === "migrate_done").length, 2);
    assert.equal(lines.filter((l) => l["action"] === "migration_applied").length, 3);
    for (const secret of [root.password, ADMIN.password, "api-password", "purge-password"]) {
      assert.ok(!output.includes(secret));
    }
    const purge = await mysql.createConnection({
      host: db.host,
      port: db.port,
      user: `${db.name}_purge`.slice(0, 32),
      password: "purge-password",
      database: db.name,
    });
    await purge.query("SELECT id FROM tokens");
    await purge.end();

    await assert.rejects(
      mysql.createConnection({ host: db.host, port: db.port, user: root.user, password: "" }),
      /denied/i,
    );
    const connection = await mysql.createConnection({
      host: db.host,
      port: db.port,
      user: root.user,
      password: root.password,
    });
    await connection.end();
  });

  it("run again, changes nothing and exits 0", async () => {
    const { stdout } = await migrate();
    const done = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l["action"] === "migrate_done");
    assert.deepEqual(done?.["applied"], []);
    assert.equal(done?.["seedUser"], "unchanged");
  });

  it("exits 1 with one line naming the variable when the configuration is bad", async () => {
    await assert.rejects(migrate({ DB_PORT: "forty" }), (error: { code?: number; stdout?: string }) => {
      assert.equal(error.code, 1);
      const line = JSON.parse(error.stdout?.trim() ?? "") as Record<string, unknown>;
      assert.equal(line["action"], "migrate_failed");
      assert.match(String(line["msg"]), /^DB_PORT must be a whole number/);
      return true;
    });
  });

  it("exits 1 naming PURGE_DB_USER when the purge would share the API's account or the admin's", async () => {
    for (const env of [
      { PURGE_DB_USER: "shared_account", APP_DB_USER: "shared_account" },
      { PURGE_DB_USER: root.user },
    ]) {
      await assert.rejects(migrate(env), (error: { code?: number; stdout?: string }) => {
        assert.equal(error.code, 1);
        const line = JSON.parse(error.stdout?.trim() ?? "") as Record<string, unknown>;
        assert.match(String(line["msg"]), /^PURGE_DB_USER must /);
        return true;
      });
    }
  });

  it("exits 1 when the password is wrong and bootstrapping is off", async () => {
    await assert.rejects(
      migrate({ DB_PASSWORD: "wrong", DB_BOOTSTRAP_EMPTY_PASSWORD: "false" }),
      (error: { code?: number; stdout?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stdout ?? "", /denied/i);
        return true;
      },
    );
  });
});
