import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Server } from "node:http";
import { listenOnLoopback, rawRequest, type RawResponse } from "@tidbstack/testenv";
import { createHttpServer, HTTP_SERVER_TIMEOUTS } from "../../src/http-server.ts";

/** The only response to `request`, its body parsed as JSON. */
async function exchange(
  port: number,
  request: string,
): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
  const responses = await rawRequest(port, request);
  assert.equal(responses.length, 1);
  const [response] = responses as [RawResponse];
  return { ...response, body: JSON.parse(response.body) };
}

describe("the services' HTTP server", () => {
  let server: Server;
  let port: number;

  before(async () => {
    server = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    });
    port = await listenOnLoopback(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("sets every timeout explicitly, the keep-alive one above a proxy's 60 s default", () => {
    assert.equal(server.headersTimeout, HTTP_SERVER_TIMEOUTS.headersTimeoutMs);
    assert.equal(server.requestTimeout, HTTP_SERVER_TIMEOUTS.requestTimeoutMs);
    assert.equal(server.keepAliveTimeout, HTTP_SERVER_TIMEOUTS.keepAliveTimeoutMs);
    assert.ok(HTTP_SERVER_TIMEOUTS.headersTimeoutMs <= 10_000);
    assert.ok(HTTP_SERVER_TIMEOUTS.headersTimeoutMs < HTTP_SERVER_TIMEOUTS.requestTimeoutMs);
    assert.ok(HTTP_SERVER_TIMEOUTS.keepAliveTimeoutMs > 60_000);
  });

  it("answers a request that is not HTTP with a JSON 400 and closes the connection", async () => {
    const response = await exchange(port, "NOT HTTP AT ALL\r\n\r\n");
    assert.equal(response.status, 400);
    assert.equal(response.headers["content-type"], "application/json");
    assert.equal(response.headers["connection"], "close");
    assert.deepEqual(response.body, {
      error: { code: "bad_request", message: "the request is not valid HTTP/1.1" },
    });
  });

  it("answers headers over Node's 16 KiB limit with a JSON 431", async () => {
    const response = await exchange(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assert.equal(response.status, 431);
    assert.deepEqual(response.body, {
      error: { code: "headers_too_large", message: "request header fields too large" },
    });
  });

  it("answers an unsupported Expect with a JSON 417", async () => {
    const response = await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n");
    assert.equal(response.status, 417);
    assert.equal((response.body as { error: { code: string } }).error.code, "expectation_failed");
  });

  it("still serves well-formed requests", async () => {
    const response = await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: "ok" });
  });
});
