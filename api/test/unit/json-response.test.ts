import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import express, { type Express } from "express";
import fc from "fast-check";
import { listenOnLoopback, rawExchange } from "@tidbstack/testenv";
import { sendJsonDirectly } from "../../src/json-response.ts";

/** Everything the server wrote for one request, but the Date line. */
async function rawResponse(port: number, request: string): Promise<string> {
  return (await rawExchange(port, request)).toString("latin1").replace(/\r\nDate: [^\r]*/, "");
}

/** What the route answers next: a value for res.json(), and how the route prepares the response. */
let next: { value: unknown; status: number; contentType?: string; cacheControl?: string } = {
  value: null,
  status: 200,
};

function jsonApp(configure: (app: Express) => void): Express {
  const app = express();
  configure(app);
  app.all("/json", (_req, res) => {
    if (next.cacheControl !== undefined) res.set("Cache-Control", next.cacheControl);
    if (next.contentType !== undefined) res.type(next.contentType);
    res.status(next.status).json(next.value);
  });
  return app;
}

describe("sendJsonDirectly", () => {
  const servers: Server[] = [];
  let ports: { express: number; direct: number };
  const listen = (app: Express): Promise<number> => {
    const server = createServer(app);
    servers.push(server);
    return listenOnLoopback(server);
  };
  /** The raw answers of Express's res.json() and of ours to the same request. */
  const both = async (request: string): Promise<[string, string]> => [
    await rawResponse(ports.express, request),
    await rawResponse(ports.direct, request),
  ];
  const get = (method = "GET", extra = ""): string =>
    `${method} /json HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;

  before(async () => {
    ports = { express: await listen(jsonApp(() => {})), direct: await listen(jsonApp(sendJsonDirectly)) };
  });
  after(() => {
    for (const server of servers) server.close();
  });

  it("sends the bytes Express's res.json() sends, for any JSON value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom(200, 401, 404, 503), async (value, status) => {
        next = { value, status, cacheControl: "no-store" };
        const [expected, actual] = await both(get());
        assert.match(expected, /\r\nContent-Type: application\/json; charset=utf-8\r\n/);
        assert.equal(actual, expected);
      }),
      { numRuns: 60 },
    );
  });

  it("answers HEAD, a matching If-None-Match (304) and a value without JSON text as Express does", async () => {
    next = { value: { status: "ok" }, status: 200 };
    const [, etagged] = await both(get());
    const etag = /\r\nETag: ([^\r]+)/.exec(etagged)?.[1] ?? "";
    assert.notEqual(etag, "");
    for (const request of [get("HEAD"), get("GET", `If-None-Match: ${etag}\r\n`)]) {
      const [expected, actual] = await both(request);
      assert.equal(actual, expected);
    }
    assert.match((await both(get("GET", `If-None-Match: ${etag}\r\n`)))[1], /^HTTP\/1\.1 304 /);
    next = { value: undefined, status: 200 };
    const [expected, actual] = await both(get());
    assert.equal(actual, expected);
  });

  it("leaves a Content-Type set by the route, and the json settings, to Express", async () => {
    next = { value: { a: "<b>" }, status: 200, contentType: "application/problem+json" };
    const [expected, actual] = await both(get());
    assert.match(actual, /\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/);
    assert.equal(actual, expected);

    const settings = (app: Express): void => {
      app.set("json spaces", 2);
      app.set("json escape", true);
    };
    const port = await listen(
      jsonApp((app) => {
        settings(app);
        sendJsonDirectly(app);
      }),
    );
    const reference = await listen(jsonApp(settings));
    next = { value: { a: "<b>" }, status: 200 };
    const ours = await rawResponse(port, get());
    assert.match(ours, /\{\n {2}"a": "\\u003cb\\u003e"\n\}$/);
    assert.equal(ours, await rawResponse(reference, get()));
  });
});
