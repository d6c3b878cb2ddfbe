import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import helmet from "helmet";
import { HELMET_OPTIONS } from "../../src/app.ts";
import { recordHelmet } from "../../src/security-headers.ts";
import { startApi, type RunningApi } from "../support.ts";
import { MemoryStore } from "./memory-store.ts";

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

describe("security headers", () => {
  let api: RunningApi;
  let reference: { url: string; close: () => void };

  before(async () => {
    api = await startApi(await MemoryStore.withUser("a@test.com", "password", { logN: 10, r: 8, p: 1 }));
    // helmet itself, per request, with the API's options: what the recorded headers must equal.
    const app = express();
    app.use(helmet(HELMET_OPTIONS));
    app.get("/health", (_req, res) => {
      res.json({ status: "ok" });
    });
    app.use((_req, res) => {
      res.status(404).json({});
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    reference = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
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
