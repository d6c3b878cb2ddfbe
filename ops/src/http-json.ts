/**
 * The one HTTP call helper behind the TiCDC and PD clients: JSON in, JSON out, a timeout on every call,
 * and 64-bit integers kept exact both ways (TiCDC's checkpoint_ts and any TSO in a replica config are
 * around 4.6e17, past 2^53, where plain JSON.parse rounds silently).
 */

export type Fetch = typeof fetch;

/** A call that got no answer (unreachable, timed out) or an answer the client treats as a failure. */
export class ApiError extends Error {
  /** The HTTP status, or undefined when the server did not answer. */
  readonly status: number | undefined;
  /** Worth another try while waiting: no answer, or a 5xx (a leader election or restart in progress). */
  readonly transient: boolean;

  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.transient = status === undefined || status >= 500;
  }
}

export interface JsonResponse {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  /** The parsed body; a body that is not JSON comes back as its text (at most 500 characters). */
  readonly body: unknown;
}

export interface JsonClient {
  readonly baseUrl: string;
  /** Throws ApiError only when there is no answer; every status comes back for the caller to judge. */
  call(method: string, path: string, body?: unknown): Promise<JsonResponse>;
}

export interface JsonClientOptions {
  readonly fetch?: Fetch;
  /** Per call, in ms. Default 30 s: TiCDC's own calls to PD time out at 30 s. */
  readonly timeoutMs?: number;
}

export function jsonClient(baseUrl: string, options: JsonClientOptions = {}): JsonClient {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    baseUrl,
    async call(method, path, body) {
      const url = new URL(path, baseUrl);
      const init: RequestInit = { method, signal: AbortSignal.timeout(timeoutMs) };
      if (body !== undefined) {
        init.headers = { "content-type": "application/json" };
        init.body = stringifyJson(body);
      }
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(url, init);
        text = await response.text();
      } catch (error) {
        throw new ApiError(`${method} ${url.href} got no answer: ${describeFetchError(error)}`, undefined);
      }
      return { status: response.status, ok: response.ok, body: parseBody(text) };
    },
  };
}

/** JSON.parse, with integers beyond 2^53 as exact bigints (read from the source text, not the rounded double). */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === "number" &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}

/** JSON.stringify that writes bigints as plain JSON numbers, the inverse of parseJson. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? rawJson(v.toString()) : v));
}

/** JSON.rawJSON (Node 21+, ES2025) is not in the es2023 lib this project compiles against. */
const rawJson = (text: string): unknown =>
  (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return parseJson(text);
  } catch {
    return text.slice(0, 500);
  }
}

/** An answer's body as one line for an error message: PD answers with JSON strings, TiCDC with objects. */
export function describeBody(body: unknown): string {
  if (body === undefined) return "empty body";
  if (typeof body === "string") return body;
  return stringifyJson(body).slice(0, 500);
}

/** fetch() fails with "fetch failed" and the real reason (ECONNREFUSED, ENOTFOUND, a timeout) in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return "timed out";
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}
