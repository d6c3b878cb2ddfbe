import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import helmet, { type HelmetOptions } from "helmet";

/** What helmet does to a response: headers it sets, in order, and headers it removes. */
export interface HeaderSet {
  readonly set: readonly (readonly [name: string, value: string])[];
  readonly removed: readonly string[];
}

/**
 * Runs helmet once, at start-up, against a response that only records, and returns what it did. With
 * static options (no CSP nonce functions) helmet does the same to every response, so replaying the record
 * gives the same headers without running its dozen middleware functions per request. Anything else
 * (options with functions, such as per-request CSP nonces; a header value that is not a string; helmet
 * calling another response method, not calling next, or calling it with an error) throws here rather than
 * silently sending different headers.
 */
export function recordHelmet(options: Readonly<HelmetOptions>): HeaderSet {
  if (containsFunction(options)) throw new TypeError("helmet options with functions vary per request");
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader(name: string, value: unknown) {
      if (typeof value !== "string") throw new TypeError(`helmet set ${name} to a non-string value`);
      set.push([name, value]);
      return recorder;
    },
    removeHeader(name: string) {
      removed.push(name);
    },
  };
  let finished = false as boolean;
  // helmet reads nothing from the request unless a CSP directive is a function, refused above.
  const request = Object.create(null) as IncomingMessage;
  helmet(options)(request, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw new Error("helmet failed on a recording response", { cause: error });
    finished = true;
  });
  if (!finished) throw new Error("helmet did not finish synchronously; its headers cannot be recorded");
  return { set, removed };
}

/** Applies a recorded header set to a response: what helmet's middleware would have done to it. */
export function headerWriter(headers: HeaderSet): (res: ServerResponse) => void {
  const { set, removed } = headers;
  return (res) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}

/** Applies a recorded header set to every response, as a middleware of its own. */
export function securityHeaders(headers: HeaderSet): RequestHandler {
  const write = headerWriter(headers);
  return (_req, res, next) => {
    write(res);
    next();
  };
}

function containsFunction(value: unknown): boolean {
  if (typeof value === "function") return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(containsFunction);
}
