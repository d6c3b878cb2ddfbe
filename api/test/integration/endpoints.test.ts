import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RowDataPacket } from "mysql2/promise";
import type { TestDatabase } from "@tidbstack/testenv";
import { hashToken } from "../../src/tokens.ts";
import {
  ADMIN,
  adminConnection,
  bearer,
  login,
  postJson,
  startApiOnTestDatabase,
  type ApiOnDatabase,
  type RunningApi,
} from "../support.ts";

describe("API endpoints against a real database", () => {
  let running: ApiOnDatabase;
  let db: TestDatabase;
  let api: RunningApi;
  let now = new Date("2026-01-01T00:00:00.000Z");

  before(async () => {
    running = await startApiOnTestDatabase("api", { clock: () => now, config: { tokenTtlSeconds: 600 } });
    ({ api, db } = running);
  });
  after(() => running.close());

  it("GET /ready answers ready while the database answers", async () => {
    const response = await fetch(`${api.url}/ready`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ready" });
  });

  it("POST /login with the seed credentials returns a UUID v4 token and its expiry", async () => {
    const response = await postJson(`${api.url}/login`, ADMIN);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = (await response.json()) as { token: string; expiresAt: string };
    assert.deepEqual(Object.keys(body).sort(), ["expiresAt", "token"]);
    assert.match(body.token, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(body.expiresAt, "2026-01-01T00:10:00.000Z");
  });

  it("stores only the SHA-256 of a token, never the token", async () => {
    const token = await login(api.url);
    const connection = await adminConnection(db);
    try {
      const [rows] = await connection.query<RowDataPacket[]>(`SELECT * FROM \`${db.name}\`.tokens`);
      const dump = JSON.stringify(rows);
      assert.ok(!dump.includes(token));
      assert.ok(rows.some((row) => row["token_hash"] === hashToken(token)));
    } finally {
      await connection.end();
    }
  });

  it("logs in with the email in any letter case", async () => {
    assert.equal((await postJson(`${api.url}/login`, { ...ADMIN, email: " ADMIN@Test.com " })).status, 200);
  });

  it("refuses a wrong password and an unknown email with the same 401", async () => {
    const wrong = await postJson(`${api.url}/login`, { ...ADMIN, password: "nope" });
    const unknown = await postJson(`${api.url}/login`, {
      email: "nobody@test.com",
      password: "temp-password",
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(await wrong.json(), await unknown.json());
  });

  it("GET /me returns the token's user", async () => {
    const token = await login(api.url);
    const response = await fetch(`${api.url}/me`, { headers: bearer(token) });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { userId: unknown; email: unknown };
    assert.deepEqual(Object.keys(body).sort(), ["email", "userId"]);
    assert.equal(typeof body.userId, "number");
    assert.equal(body.email, ADMIN.email);
  });

  it("refuses a token once it has expired", async () => {
    const token = await login(api.url);
    now = new Date(now.getTime() + 599_000);
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(token) })).status, 200);
    now = new Date(now.getTime() + 1_000);
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(token) })).status, 401);
    assert.equal((await fetch(`${api.url}/logout`, { method: "POST", headers: bearer(token) })).status, 401);
  });

  it("POST /logout answers 204, then the token is refused while other tokens keep working", async () => {
    const [token, other] = [await login(api.url), await login(api.url)];
    const logout = await fetch(`${api.url}/logout`, { method: "POST", headers: bearer(token) });
    assert.equal(logout.status, 204);
    assert.equal(await logout.text(), "");
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(token) })).status, 401);
    assert.equal((await fetch(`${api.url}/logout`, { method: "POST", headers: bearer(token) })).status, 401);
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(other) })).status, 200);
    const logoutLine = api.logs().find((l) => l["action"] === "logout");
    assert.equal(typeof logoutLine?.["userId"], "number");
    assert.equal(logoutLine?.["ip"], "127.0.0.1");
  });

  it("writes no password, token or token hash to its logs", async () => {
    const token = await login(api.url);
    await fetch(`${api.url}/me`, { headers: bearer(token) });
    await fetch(`${api.url}/logout`, { method: "POST", headers: bearer(token) });
    const all = api.rawLogs.join("\n");
    assert.ok(!all.includes(ADMIN.password));
    assert.ok(!all.includes(token));
    assert.ok(!all.includes(hashToken(token)));
  });
});
