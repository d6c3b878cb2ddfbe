import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { captureLogLines, createHttpServer, getLogger, type LogFields } from "@tidbstack/service-kit";
import { listenOnLoopback, rawRequest, type RawResponse } from "@tidbstack/testenv";
import { createApp } from "../../src/app.ts";
import { createApiMetrics } from "../../src/metrics.ts";
import { FAST_PASSWORDS, MemoryStore } from "./memory-store.ts";

/**
 * Generated requests, written byte for byte to the real Express app behind the same HTTP server as
 * main.ts, with the in-memory store: any method, path, header, content type, encoding and body. Every
 * answer must be a 2xx or 4xx, every error a JSON `{"error":{"code","message"}}` with nothing of the
 * server's internals in it, and nothing may be logged as an internal error.
 */
const USER = { email: "admin@test.com", password: "temp-password" };

const uuid = fc.uuid({ version: 4 });
/**
 * Header values: mostly printable text, sometimes any byte a client could send. Weighted so that most
 * requests get past the HTTP parser and reach the application, and a fifth exercise the parser's refusals.
 */
const anyValue = fc.oneof(
  { weight: 40, arbitrary: fc.string({ maxLength: 40 }) },
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);
const contentType = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=latin1",
    "application/json; charset=nonsense",
    "application/vnd.api+json",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/json;;;",
    "*/*",
  ),
  anyValue,
);
const authorization = fc.oneof(
  uuid.map((token) => `Bearer ${token}`),
  uuid.map((token) => `bearer   ${token.toUpperCase()}  `),
  fc.constantFrom("Bearer", "Bearer ", "Basic YWRtaW46cGFzcw==", `Bearer ${"a".repeat(5000)}`),
  anyValue,
);
const header: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constant("content-type"), contentType) },
  { weight: 6, arbitrary: fc.tuple(fc.constant("authorization"), authorization) },
  fc.tuple(
    fc.constant("content-encoding"),
    fc.oneof(fc.constantFrom("gzip", "deflate", "br", "identity", "compress", "gzip, gzip"), anyValue),
  ),
  fc.tuple(
    fc.constantFrom(
      "x-forwarded-for",
      "accept",
      "accept-encoding",
      "cookie",
      "origin",
      "expect",
      "if-none-match",
      "range",
    ),
    anyValue,
  ),
  { weight: 3, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), anyValue) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 10 }), anyValue),
  },
);

const credentials = fc.record({
  email: fc.oneof(
    fc.constant(USER.email),
    fc.constant(USER.email.toUpperCase()),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  password: fc.oneof(fc.constant(USER.password), fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
});
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 100 }).map((text) => Buffer.from(text)),
  fc.jsonValue({ maxDepth: 3 }).map((json) => Buffer.from(JSON.stringify(json))),
  credentials.map((json) => Buffer.from(JSON.stringify(json))),
  credentials.map((json) => gzipSync(JSON.stringify(json))),
  fc.constant(Buffer.from(JSON.stringify({ email: USER.email, password: "x".repeat(20_000) }))),
);

const method = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS") },
  fc.stringMatching(/^[A-Z]{1,10}$/),
);
const path = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("/login", "/me", "/logout", "/health", "/ready", "/metrics", "/", "/login.js"),
  },
  fc
    .constantFrom("/login", "/me", "/logout")
    .chain((route) => fc.string({ maxLength: 20 }).map((query) => `${route}?${encodeURIComponent(query)}`)),
  { weight: 2, arbitrary: fc.webPath() },
  fc.string({ unit: "binary-ascii", maxLength: 30 }).map((text) => `/${text}`),
  fc.constantFrom("/%", "/%zz", "/%E0%A4%A", "//login", "/login/", "/LOGIN", "/..%2f..%2fetc%2fpasswd", "*"),
);

/** Mostly the API's own routes with their methods (so requests reach the handlers), else anything. */
const target: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<[string, string]>(
      ["POST", "/login"],
      ["GET", "/me"],
      ["POST", "/logout"],
      ["GET", "/health"],
      ["GET", "/ready"],
      ["GET", "/"],
      ["GET", "/login.js"],
    ),
  },
  fc.tuple(method, path),
);

/** How the body is framed: correctly, or in the ways a broken or hostile client frames it. */
const framing = fc.oneof(
  { weight: 24, arbitrary: fc.constant({ kind: "length" as const }) },
  fc.constant({ kind: "chunked" as const }),
  fc.constant({ kind: "unchunked" as const }),
  fc.constant({ kind: "length-and-chunked" as const }),
  fc.constant({ kind: "two-lengths" as const }),
  fc.nat({ max: 10 }).map((short) => ({ kind: "short" as const, short })),
  fc
    .constantFrom("-1", "abc", "1e3", "0x10", "5, 6", "99999999999999999999", "")
    .map((value) => ({ kind: "bad-length" as const, value })),
);
type Framing = typeof framing extends fc.Arbitrary<infer F> ? F : never;

function framed(how: Framing, payload: Buffer): { headers: string[]; bytes: Buffer } {
  const length = `Content-Length: ${payload.length}`;
  switch (how.kind) {
    case "length":
      return { headers: [length], bytes: payload };
    case "chunked":
      return {
        headers: ["Transfer-Encoding: chunked"],
        bytes: Buffer.concat([
          Buffer.from(payload.length === 0 ? "" : `${payload.length.toString(16)}\r\n`),
          payload,
          Buffer.from(payload.length === 0 ? "0\r\n\r\n" : "\r\n0\r\n\r\n"),
        ]),
      };
    case "unchunked":
      return { headers: ["Transfer-Encoding: chunked"], bytes: payload };
    case "length-and-chunked":
      return { headers: [length, "Transfer-Encoding: chunked"], bytes: payload };
    case "two-lengths":
      return { headers: [length, `Content-Length: ${payload.length + 1}`], bytes: payload };
    case "short":
      return { headers: [`Content-Length: ${Math.max(0, payload.length - how.short)}`], bytes: payload };
    case "bad-length":
      return { headers: [`Content-Length: ${how.value}`], bytes: payload };
  }
}

/** Host first, then the generated headers, the framing's headers, Connection: close and the body. */
function requestBytes(
  m: string,
  p: string,
  headers: readonly [string, string][],
  payload: Buffer,
  how: Framing = { kind: "length" },
): Buffer {
  const body = framed(how, payload);
  const lines = [
    `${m} ${p} HTTP/1.1`,
    "Host: localhost",
    ...headers.map(([name, value]) => `${name}: ${value}`),
    ...body.headers,
    "Connection: close",
  ];
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body.bytes]);
}

/** Stack frames, file paths, or the names Node and Express give their errors. */
const INTERNALS = /\n\s+at |node_modules|\.ts:\d+|\.js:\d+|TypeError|SyntaxError|ReferenceError|ECONN/;

function assertWellFormed(response: RawResponse, request: Buffer): void {
  const context = `for ${JSON.stringify(request.toString("latin1").slice(0, 600))}: ${response.status} ${response.body.slice(0, 300)}`;
  assert.ok(response.status < 500, `a ${response.status} ${context}`);
  assert.ok(!INTERNALS.test(response.body), `internals in the answer ${context}`);
  if (response.status < 400) return;
  assert.match(response.headers["content-type"] ?? "", /^application\/json/, `not JSON ${context}`);
  const parsed = JSON.parse(response.body) as { error?: Record<string, unknown> };
  assert.deepEqual(Object.keys(parsed), ["error"], context);
  assert.deepEqual(Object.keys(parsed.error ?? {}), ["code", "message"], context);
  assert.match(String(parsed.error?.["code"]), /^[a-z]+(_[a-z]+)*$/, context);
  assert.equal(typeof parsed.error?.["message"], "string", context);
}

describe("the API on generated requests", () => {
  let server: Server;
  let port: number;
  let records: () => LogFields[];

  before(async () => {
    const store = await MemoryStore.withUser(USER.email, USER.password);
    ({ records } = captureLogLines("info"));
    const app = createApp({
      store,
      logger: getLogger("api"),
      metrics: createApiMetrics(),
      config: { tokenTtlSeconds: 3600, loginRateLimitPerMinute: 1_000_000, trustProxy: false },
      passwords: FAST_PASSWORDS,
    });
    server = createHttpServer(app);
    port = await listenOnLoopback(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("answers any method, path, header and body with a 2xx or a 4xx JSON error, never a 5xx", async () => {
    // Requests the HTTP parser refuses never reach the application; most generated ones must.
    let reachedApp = 0;
    await fc.assert(
      fc.asyncProperty(
        target,
        fc.array(header, { maxLength: 4 }),
        body,
        framing,
        async ([m, p], headers, payload, how) => {
          const request = requestBytes(m, p, headers, payload, how);
          const responses = await rawRequest(port, request);
          assert.ok(responses.length > 0, "the server answered");
          for (const response of responses) assertWellFormed(response, request);
          if (!responses.some((response) => response.body.includes('"code":"bad_request"'))) reachedApp++;
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(reachedApp > 200, `only ${reachedApp} of 400 requests reached the application`);
    const internal = records().filter((line) => line["level"] === "error");
    assert.deepEqual(internal, [], "nothing was logged as an internal error");
  });

  it("answers POST /login with any body under any content type with 200, 400 or 401, always JSON", async () => {
    const loginHeaders = fc.array(
      fc.oneof(
        fc.tuple(fc.constant("content-type"), contentType),
        fc.tuple(fc.constant("content-encoding"), fc.constantFrom("gzip", "deflate", "identity", "br")),
      ),
      { maxLength: 2 },
    );
    await fc.assert(
      fc.asyncProperty(loginHeaders, body, async (headers, payload) => {
        const request = requestBytes("POST", "/login", headers, payload);
        const [response, ...more] = await rawRequest(port, request);
        assert.equal(more.length, 0);
        assert.ok(response !== undefined);
        assertWellFormed(response, request);
        assert.ok([200, 400, 401].includes(response.status), `${response.status} ${response.body}`);
        assert.match(response.headers["content-type"] ?? "", /^application\/json/);
      }),
      { numRuns: 300 },
    );
  });
});
