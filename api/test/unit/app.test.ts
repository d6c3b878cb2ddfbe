import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { postJson, startApi, bearer, type RunningApi } from "../support.ts";
import type { LoginRateLimiter } from "../../src/rate-limit.ts";
import { FAST_PASSWORDS, MemoryStore } from "./memory-store.ts";

const USER = { email: "admin@test.com", password: "temp-password" };

async function errorBody(response: Response): Promise<{ code: string; message: string }> {
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(typeof body.error.code, "string");
  assert.match(body.error.code, /^[a-z]+(_[a-z]+)*$/);
  assert.equal(typeof body.error.message, "string");
  return body.error;
}

describe("API HTTP layer", () => {
  let store: MemoryStore;
  let api: RunningApi;

  before(async () => {
    store = await MemoryStore.withUser(USER.email, USER.password);
    api = await startApi(store, { passwords: FAST_PASSWORDS, config: { loginRateLimitPerMinute: 1000 } });
  });
  after(() => api.close());

  it("GET /health answers ok without touching the database", async () => {
    store.down = true;
    try {
      const response = await fetch(`${api.url}/health`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: "ok" });
    } finally {
      store.down = false;
    }
  });

  it("answers an unknown route with a JSON 404", async () => {
    const response = await fetch(`${api.url}/nope?x=1`);
    assert.equal(response.status, 404);
    assert.equal((await errorBody(response)).code, "not_found");
  });

  it("sends security headers and hides the framework", async () => {
    const response = await fetch(`${api.url}/health`);
    assert.equal(response.headers.get("x-powered-by"), null);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  });

  const badBodies: [string, string | object, string][] = [
    ["malformed JSON", '{"email": ', "invalid_request"],
    ["a JSON array", [], "invalid_request"],
    ["a missing password", { email: USER.email }, "invalid_request"],
    ["a non-string email", { email: 42, password: "x" }, "invalid_request"],
    ["an empty password", { email: USER.email, password: "" }, "invalid_request"],
    ["an over-long email", { email: `${"a".repeat(400)}@x.io`, password: "x" }, "invalid_request"],
    ["an oversized body", { email: USER.email, password: "x".repeat(20_000) }, "body_too_large"],
  ];
  for (const [what, body, code] of badBodies) {
    it(`POST /login with ${what} answers 400 with a JSON error`, async () => {
      const response = await postJson(`${api.url}/login`, body);
      assert.equal(response.status, 400);
      assert.equal((await errorBody(response)).code, code);
    });
  }

  it("POST /login without a JSON content type answers 400", async () => {
    const response = await fetch(`${api.url}/login`, {
      method: "POST",
      body: "email=a&password=b",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(response.status, 400);
    await errorBody(response);
  });

  it("answers a wrong password and an unknown email identically", async () => {
    const wrong = await postJson(`${api.url}/login`, { ...USER, password: "nope" });
    const unknown = await postJson(`${api.url}/login`, { email: "ghost@test.com", password: "nope" });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(await wrong.json(), await unknown.json());
  });

  it("logs every login attempt as one JSON line with exactly the audit fields, and never the secrets", async () => {
    const before = api.rawLogs.length;
    const ok = await postJson(`${api.url}/login`, USER, { "x-forwarded-for": "203.0.113.9" });
    const { token } = (await ok.json()) as { token: string };
    await postJson(`${api.url}/login`, { ...USER, password: "wrong-password" });
    const lines = api.rawLogs.slice(before);
    const logins = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l["action"] === "login");
    assert.equal(logins.length, 2);
    const [success, failure] = logins as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(Object.keys(success).sort(), [
      "action",
      "ip",
      "level",
      "outcome",
      "timestamp",
      "userId",
    ]);
    assert.equal(success["outcome"], "success");
    assert.equal(success["userId"], 1);
    // TRUST_PROXY is off: the forwarded header is ignored and the socket address is logged.
    assert.equal(success["ip"], "127.0.0.1");
    assert.ok(!Number.isNaN(Date.parse(String(success["timestamp"]))));
    assert.deepEqual(Object.keys(failure).sort(), [
      "action",
      "ip",
      "level",
      "outcome",
      "reason",
      "timestamp",
      "userId",
    ]);
    assert.equal(failure["outcome"], "failure");
    assert.equal(failure["userId"], null);
    assert.equal(failure["reason"], "wrong_password");
    for (const line of lines) {
      assert.ok(!line.includes(USER.password) && !line.includes("wrong-password"), "a password was logged");
      assert.ok(!line.includes(token), "a token was logged");
    }
  });

  it("GET /me and POST /logout refuse a missing, malformed or unknown token with 401", async () => {
    for (const headers of [
      {},
      { authorization: "Bearer nonsense" },
      bearer("123e4567-e89b-42d3-a456-426614174000"),
    ]) {
      for (const [method, path] of [
        ["GET", "/me"],
        ["POST", "/logout"],
      ] as const) {
        const response = await fetch(`${api.url}${path}`, { method, headers });
        assert.equal(response.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal((await errorBody(response)).code, "unauthorized");
        assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
      }
    }
  });

  it("when the database is unreachable, /ready and /login answer 503 with a JSON body", async () => {
    store.down = true;
    try {
      const ready = await fetch(`${api.url}/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: "unavailable" });
      const login = await postJson(`${api.url}/login`, USER);
      assert.equal(login.status, 503);
      assert.equal((await errorBody(login)).code, "database_unavailable");
    } finally {
      store.down = false;
    }
    assert.equal((await fetch(`${api.url}/ready`)).status, 200);
  });

  it("GET /metrics on the API's own port is the JSON 404 of any unknown route: the metrics have a port of their own", async () => {
    const response = await fetch(`${api.url}/metrics`);
    assert.equal(response.status, 404);
    assert.deepEqual(await errorBody(response), { code: "not_found", message: "no route for GET /metrics" });
  });

  it("GET / serves the login page and its script", async () => {
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<form id="login-form">/);
    const script = await fetch(`${api.url}/login.js`);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
  });
});

describe("API login rate limit", () => {
  it("answers 429 with Retry-After once a client exceeds its attempts per minute, and logs it", async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    const api = await startApi(store, { passwords: FAST_PASSWORDS, config: { loginRateLimitPerMinute: 3 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await postJson(`${api.url}/login`, { ...USER, password: "bad" })).status);
      assert.deepEqual(statuses, [401, 401, 401]);
      const limited = await postJson(`${api.url}/login`, USER);
      assert.equal(limited.status, 429);
      assert.equal((await errorBody(limited)).code, "rate_limited");
      assert.equal(limited.headers.get("retry-after"), "20");
      const last = api
        .logs()
        .filter((l) => l["action"] === "login")
        .at(-1);
      assert.equal(last?.["reason"], "rate_limited");
    } finally {
      await api.close();
    }
  });

  it("trusting one proxy hop, takes the address the proxy appended, not one the client forged before it", async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    const api = await startApi(store, {
      passwords: FAST_PASSWORDS,
      config: { loginRateLimitPerMinute: 1, trustProxy: 1 },
    });
    try {
      // The client forges a first entry on each attempt; the proxy appends the address it really saw.
      const via = (forged: string) => ({ "x-forwarded-for": `${forged}, 198.51.100.7` });
      assert.equal((await postJson(`${api.url}/login`, USER, via("203.0.113.1"))).status, 200);
      assert.equal((await postJson(`${api.url}/login`, USER, via("203.0.113.2"))).status, 429);
      const ips = api
        .logs()
        .filter((l) => l["action"] === "login")
        .map((l) => l["ip"]);
      assert.deepEqual(ips, ["198.51.100.7", "198.51.100.7"]);
    } finally {
      await api.close();
    }
  });

  it("with TRUST_PROXY on, limits and logs by the forwarded client address", async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    const api = await startApi(store, {
      passwords: FAST_PASSWORDS,
      config: { loginRateLimitPerMinute: 1, trustProxy: true },
    });
    try {
      assert.equal(
        (await postJson(`${api.url}/login`, USER, { "x-forwarded-for": "198.51.100.1" })).status,
        200,
      );
      assert.equal(
        (await postJson(`${api.url}/login`, USER, { "x-forwarded-for": "198.51.100.1" })).status,
        429,
      );
      assert.equal(
        (await postJson(`${api.url}/login`, USER, { "x-forwarded-for": "198.51.100.2" })).status,
        200,
      );
      const ips = api
        .logs()
        .filter((l) => l["action"] === "login")
        .map((l) => l["ip"]);
      assert.deepEqual(ips, ["198.51.100.1", "198.51.100.1", "198.51.100.2"]);
    } finally {
      await api.close();
    }
  });

  it("asks a shared limiter before anything else, and answers its refusal with 429 and its Retry-After", async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    const keys: string[] = [];
    const limiter: LoginRateLimiter = {
      take: async (key) => {
        keys.push(key);
        await Promise.resolve();
        return { allowed: false, retryAfterSeconds: 42 };
      },
    };
    // A store that is down would answer 503: the refusal must come first.
    store.down = true;
    const api = await startApi(store, { passwords: FAST_PASSWORDS, limiter });
    try {
      const refused = await postJson(`${api.url}/login`, USER);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get("retry-after"), "42");
      assert.deepEqual(keys, ["127.0.0.1"]);
    } finally {
      await api.close();
    }
  });

  it("fails closed: when the shared limiter cannot reach the database, answers 503 JSON and logs the attempt", async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    const limiter: LoginRateLimiter = {
      take: () =>
        Promise.reject(
          Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4000"), { code: "ECONNREFUSED" }),
        ),
    };
    const api = await startApi(store, { passwords: FAST_PASSWORDS, limiter });
    try {
      const response = await postJson(`${api.url}/login`, USER);
      assert.equal(response.status, 503);
      assert.equal((await errorBody(response)).code, "database_unavailable");
      const last = api
        .logs()
        .filter((l) => l["action"] === "login")
        .at(-1);
      assert.equal(last?.["reason"], "unavailable");
      assert.equal((await fetch(`${api.url}/health`)).status, 200);
    } finally {
      await api.close();
    }
  });
});
