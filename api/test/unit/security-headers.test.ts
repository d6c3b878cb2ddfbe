import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import express from "express";
import helmet from "helmet";
import { listenOnLoopback, rawExchange } from "@tidbstack/testenv";
import { HELMET_OPTIONS } from "../../src/app.ts";
import { recordHelmet } from "../../src/security-headers.ts";
import { startApi, type RunningApi } from "../support.ts";
import { FAST_PASSWORDS, MemoryStore } from "./memory-store.ts";

/** Headers of the response, without those that differ by server or moment. */
const securityHeaders = (response: Response): Record<string, string> =>
  Object.fromEntries(
    [...response.headers].filter(
      ([name]) =>
        ![
          "date",
          "etag",
          "connection",
          "keep-alive",
          "content-length",
          "content-type",
          "cache-control",
        ].includes(name),
    ),
  );

/**
 * The response's status line and header block as sent, but for the Date line: names in their case and
 * order, values as written.
 */
async function rawHead(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const request = `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`;
  const head = (await rawExchange(Number(port), request)).toString("latin1").split("\r\n\r\n")[0] ?? "";
  return head
    .split("\r\n")
    .filter((line) => !line.startsWith("Date: "))
    .join("\r\n");
}

describe("security headers", () => {
  let api: RunningApi;
  let reference: { url: string; close: () => void };

  before(async () => {
    api = await startApi(await MemoryStore.withUser("a@test.com", "password"), { passwords: FAST_PASSWORDS });
    // helmet itself, per request, with the API's options: what the recorded headers must equal.
    const app = express();
    app.use(helmet(HELMET_OPTIONS));
    app.get("/health", (_req, res) => {
      res.json({ status: "ok" });
    });
    // The API's 404 body, so that every header, Content-Length and ETag included, can be compared.
    app.use((req, res) => {
      res
        .status(404)
        .json({ error: { code: "not_found", message: `no route for ${req.method} ${req.path}` } });
    });
    const server = createServer(app);
    reference = {
      url: `http://127.0.0.1:${await listenOnLoopback(server)}`,
      close: () => server.close(),
    };
  });
  after(async () => {
    reference.close();
    await api.close();
  });

  for (const path of ["/health", "/no-such-route"]) {
    it(`are exactly helmet's on ${path}, and there is no X-Powered-By`, async () => {
      const [ours, helmets] = await Promise.all([
        fetch(`${api.url}${path}`),
        fetch(`${reference.url}${path}`),
      ]);
      const expected = securityHeaders(helmets);
      assert.ok(Object.keys(expected).length >= 10, "helmet sets its headers");
      assert.deepEqual(securityHeaders(ours), expected);
      assert.equal(ours.headers.get("x-powered-by"), null);
    });
  }

  for (const path of ["/health", "/no-such-route"]) {
    it(`are sent byte for byte as helmet sends them on ${path}, with the same ETag and in the same order`, async () => {
      const [ours, helmets] = await Promise.all([rawHead(api.url, path), rawHead(reference.url, path)]);
      assert.match(helmets, /\r\nContent-Security-Policy: default-src 'self';/);
      assert.match(helmets, /\r\nETag: W\/"/);
      assert.equal(ours, helmets);
    });
  }

  it("refuse to record options that vary per request, such as a CSP nonce function", () => {
    assert.throws(
      () =>
        recordHelmet({
          contentSecurityPolicy: { directives: { scriptSrc: ["'self'", () => "'nonce-abc'"] } },
        }),
      /vary per request/,
    );
  });
});
