import { once } from "node:events";
import { connect } from "node:net";

/** One HTTP/1.1 response as it came over the wire. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `request` byte for byte on a new connection (no client library, so nothing is validated or fixed
 * up) and reads until the server closes. Returns every response the server wrote, interim 1xx ones
 * included, in order.
 */
export async function rawRequest(
  port: number,
  request: string | Buffer,
  options: RawExchangeOptions = {},
): Promise<RawResponse[]> {
  return parseResponses(await rawExchange(port, request, options));
}

export interface RawExchangeOptions {
  /** End the client's side when the server has written nothing after this long (ms); default 2000. */
  readonly endAfterMs?: number;
  /** Destroy the connection after this long (ms); default 10,000. */
  readonly timeoutMs?: number;
}

/**
 * Sends `request` byte for byte on a new connection and returns every byte the server wrote until it
 * closed, for comparing responses exactly (header case and order included).
 *
 * The connection is not half-closed at once: a Node server ends a connection as soon as the client's side
 * ends, dropping a response still being prepared. Only if the server has neither answered nor closed
 * after `endAfterMs` (it is waiting for bytes the request announced but did not send) is the client's
 * side ended, which makes the server answer or close.
 */
export async function rawExchange(
  port: number,
  request: string | Buffer,
  options: RawExchangeOptions = {},
): Promise<Buffer> {
  const { endAfterMs = 2000, timeoutMs = 10_000 } = options;
  const socket = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {
    // A reset after the server answered and closed is fine: what it wrote is already in `chunks`.
  });
  const closed = new Promise((resolve) => socket.on("close", resolve));
  await once(socket, "connect");
  socket.write(request);
  const ender = setTimeout(() => {
    if (chunks.length === 0) socket.end();
  }, endAfterMs);
  const killer = setTimeout(() => socket.destroy(), timeoutMs);
  await closed;
  clearTimeout(ender);
  clearTimeout(killer);
  return Buffer.concat(chunks);
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length, chunked, or until the end). */
export function parseResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf("\r\n\r\n", at);
    if (headEnd === -1)
      throw new Error(`an incomplete response head: ${raw.subarray(at).toString("latin1")}`);
    const [statusLine = "", ...lines] = raw.subarray(at, headEnd).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    if (!Number.isInteger(status)) throw new Error(`not an HTTP status line: ${statusLine}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    at = headEnd + 4;
    let body: Buffer;
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = raw.indexOf("\r\n", at);
        const size = parseInt(raw.subarray(at, lineEnd).toString("latin1"), 16);
        at = lineEnd + 2;
        if (!(size > 0)) break;
        parts.push(raw.subarray(at, at + size));
        at += size + 2;
      }
      at = raw.indexOf("\r\n", at) + 2;
      body = Buffer.concat(parts);
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      body = raw.subarray(at, at + length);
      at += length;
    } else {
      body = raw.subarray(at);
      at = raw.length;
    }
    responses.push({ status, headers, body: body.toString("utf8") });
  }
  return responses;
}
