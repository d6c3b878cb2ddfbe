import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMariaDb, type MariaDbServer } from "@tidbstack/testenv";
import {
  ADMIN,
  bearer,
  login,
  postJson,
  startApiOnTestDatabase,
  type ApiOnDatabase,
  type RunningApi,
} from "../support.ts";

describe("when the database goes away and comes back", () => {
  let server: MariaDbServer;
  let running: ApiOnDatabase;
  let api: RunningApi;

  before(async () => {
    // A private server: stopping the shared one would break every other test file.
    server = await startMariaDb();
    running = await startApiOnTestDatabase("outage", { serverUrl: server.url });
    api = running.api;
  });
  after(async () => {
    await running.close();
    await server.destroy();
  });

  it("answers 503 on /ready and /login while it is down, keeps /health at 200, and recovers by itself", async () => {
    const token = await login(api.url);
    assert.equal((await fetch(`${api.url}/ready`)).status, 200);

    await server.stop();
    const started = Date.now();
    const ready = await fetch(`${api.url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: "unavailable" });
    assert.ok(Date.now() - started < 3000, "readiness answers promptly, not after a connect timeout");
    const down = await postJson(`${api.url}/login`, ADMIN);
    assert.equal(down.status, 503);
    assert.deepEqual(((await down.json()) as { error: { code: string } }).error.code, "database_unavailable");
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(token) })).status, 503);
    assert.equal((await fetch(`${api.url}/health`)).status, 200);
    const unavailable = api.logs().filter((l) => l["action"] === "login" && l["reason"] === "unavailable");
    assert.equal(unavailable.length, 1);

    await server.start();
    assert.equal((await fetch(`${api.url}/ready`)).status, 200);
    assert.equal((await fetch(`${api.url}/me`, { headers: bearer(token) })).status, 200);
    assert.equal((await postJson(`${api.url}/login`, ADMIN)).status, 200);
  });
});
