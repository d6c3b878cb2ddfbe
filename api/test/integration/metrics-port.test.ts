import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, freePort, type TestDatabase } from "@tidbstack/testenv";
import { dbEnv, spawnEntryPoint, waitForOk, type NodeProcess } from "../processes.ts";
import { ADMIN, migrateTestDatabase, postJson } from "../support.ts";

/**
 * The real API process (src/main.ts) on a migrated database: its counters and timings are served on the
 * metrics port (METRICS_PORT), which the stack never publishes, and not on the API's own port, which it does.
 */
describe("the API's metrics port", () => {
  let db: TestDatabase;
  let api: NodeProcess;
  let apiUrl = "";
  let metricsUrl = "";

  before(async () => {
    db = await createTestDatabase("metricsport");
    const account = await migrateTestDatabase(db);
    const [port, metricsPort] = [await freePort(), await freePort()];
    api = spawnEntryPoint("main.ts", {
      ...dbEnv(db, account),
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: "127.0.0.1",
      LOG_LEVEL: "error",
    });
    apiUrl = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    await waitForOk(`${apiUrl}/ready`);
    await waitForOk(`${metricsUrl}/health`);
    // Traffic whose series the metrics must show: a probe, a login that succeeds, one that fails, a stray path.
    await fetch(`${apiUrl}/health`);
    assert.equal((await postJson(`${apiUrl}/login`, ADMIN)).status, 200);
    assert.equal((await postJson(`${apiUrl}/login`, { ...ADMIN, password: "wrong-password" })).status, 401);
    await fetch(`${apiUrl}/nope`);
  });

  after(async () => {
    api.kill();
    await api.exited;
    await db.drop();
  });

  it("GET /metrics on the API's port answers the API's JSON 404", async () => {
    const response = await fetch(`${apiUrl}/metrics`);
    assert.equal(response.status, 404);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await response.json(), {
      error: { code: "not_found", message: "no route for GET /metrics" },
    });
  });

  it("GET /metrics on the metrics port answers 200 with the request, login and process series", async () => {
    const response = await fetch(`${metricsUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^http_requests_total\{method="GET",route="\/health",status="200"\} [1-9]\d*$/m);
    assert.match(
      text,
      /^http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/health",status="200"\} \d+$/m,
    );
    assert.match(text, /^http_requests_total\{method="POST",route="\/login",status="200"\} 1$/m);
    assert.match(text, /^login_attempts_total\{outcome="success"\} 1$/m);
    assert.match(text, /^login_attempts_total\{outcome="failure"\} 1$/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    // Unknown paths share one label value instead of one series each.
    assert.match(text, /route="unmatched",status="404"/);
    assert.doesNotMatch(text, /route="\/nope/);
    // A scrape is not an API request: it is not counted among them.
    assert.doesNotMatch(text, /route="\/metrics"/);
  });

  it("the metrics port serves /health and nothing of the API", async () => {
    assert.deepEqual(await (await fetch(`${metricsUrl}/health`)).json(), { status: "ok" });
    const login = await postJson(`${metricsUrl}/login`, ADMIN);
    assert.equal(login.status, 404);
    assert.equal(((await login.json()) as { error: { code: string } }).error.code, "not_found");
  });
});
