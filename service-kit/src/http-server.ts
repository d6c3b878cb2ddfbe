import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Duplex } from "node:stream";

/**
 * The timeouts every HTTP server of the stack sets explicitly. Node's defaults (headers 60 s, whole request
 * 300 s, both checked only every 30 s) let a client that opens a connection and sends nothing hold it for
 * up to 90 s, so a few thousand such clients exhaust a process's sockets.
 */
export const HTTP_SERVER_TIMEOUTS = {
  /**
   * The request line and headers must be complete within 10 s. Every client of these servers (browsers,
   * curl, Prometheus, a proxy) sends well under 1 KiB of headers, in one packet; 10 s leaves room for a
   * congested mobile link and is a sixth of the time Node's default gives a slow-loris connection.
   */
  headersTimeoutMs: 10_000,
  /**
   * The whole request, body included, within 30 s. The largest body either server accepts is the API's
   * 8 KiB login body, a fraction of a second even at 2G speeds; Node's default is 300 s.
   */
  requestTimeoutMs: 30_000,
  /**
   * An idle keep-alive connection is closed after 65 s. A reverse proxy or load balancer in front must
   * close its idle upstream connections before the server does, or it may send a request on a connection
   * the server is closing and answer 502: so this is above the 60 s that nginx (`keepalive_timeout` in an
   * upstream block) and AWS load balancers use by default. A proxy that keeps upstream connections idle for
   * longer must be configured below 65 s. It also outlasts Prometheus's 15 s scrape interval, so scrapes
   * reuse one connection.
   */
  keepAliveTimeoutMs: 65_000,
  /** How often Node enforces the first two; with its 30 s default a silent connection lives up to 40 s, not 10. */
  connectionsCheckingIntervalMs: 1_000,
} as const;

/** Statuses for the protocol errors Node reports before a request exists, as its own default handler answers them. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, [number, string, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "request_timeout"],
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "headers_too_large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "Content Too Large", "chunk_extensions_too_large"],
};

/**
 * An HTTP server with the timeouts above, whose protocol-level refusals (malformed request, headers too
 * slow or too large, an unsupported Expect) are JSON error bodies like every other error of the services:
 * `{"error":{"code","message"}}`. Listening is left to the caller.
 */
export function createHttpServer(handler: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: HTTP_SERVER_TIMEOUTS.headersTimeoutMs,
      requestTimeout: HTTP_SERVER_TIMEOUTS.requestTimeoutMs,
      keepAliveTimeout: HTTP_SERVER_TIMEOUTS.keepAliveTimeoutMs,
      connectionsCheckingInterval: HTTP_SERVER_TIMEOUTS.connectionsCheckingIntervalMs,
    },
    handler,
  );
  server.on("clientError", answerClientError);
  // Without a listener Node answers an Expect other than 100-continue with an empty 417.
  server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => {
    res
      .writeHead(417, { "content-type": "application/json", connection: "close" })
      .end(errorBody("expectation_failed", "only Expect: 100-continue is supported"));
  });
  return server;
}

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

/**
 * Node's default clientError handling, with a JSON body. There is no request or response object at this
 * point, so the answer is written to the socket as raw HTTP/1.1. Like Node, it writes nothing when a
 * response is already under way on the socket (that would corrupt it) or the socket cannot be written.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, code] = CLIENT_ERROR_STATUS[error.code ?? ""] ?? [400, "Bad Request", "bad_request"];
  const body = errorBody(code, status === 400 ? "the request is not valid HTTP/1.1" : reason.toLowerCase());
  // Destroyed once written, not just ended: the server's sockets allow half-open connections, and a client
  // that never closes its side would otherwise keep the socket.
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
