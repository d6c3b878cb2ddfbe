/**
 * The soak's API traffic: a mix of what real clients and bad clients send, each request checked against
 * the status the API's contract gives it.
 *
 * - Sessions, one every `sessionInterval`: log in, GET /me three times, log out, GET /me with the
 *   revoked token (401), log in with a wrong password (401). Each login hashes with scrypt, which holds a
 *   128 MiB work buffer while it runs: `loginInFlight()` lets a sampler measure memory between them.
 * - At a steady rate in between: GET /health, GET /me with a long-lived token, and bad requests (no
 *   token, a token never issued, an unknown route, malformed JSON, an oversized body).
 */
import { randomUUID } from "node:crypto";

export interface Credentials {
  readonly email: string;
  readonly password: string;
}

export interface TrafficOptions {
  readonly url: string;
  readonly credentials: Credentials;
  /** Requests per second of the steady mix (sessions come on top). */
  readonly rate: number;
  /** At most this many steady requests in flight; beyond it the rate is not kept up rather than piling on. */
  readonly maxInFlight?: number;
  /** A session starts at most this often (ms); default 2000. */
  readonly sessionInterval?: number;
}

export interface TrafficStats {
  /** Requests answered, by kind and status: `"me 200": 1234`. */
  readonly answered: Record<string, number>;
  readonly total: number;
  /** Answers other than the expected status (5xx above all), and failed requests, with examples. */
  readonly unexpected: number;
  readonly examples: string[];
}

interface Request {
  readonly kind: string;
  readonly expect: number;
  readonly path: string;
  readonly init?: RequestInit;
}

const json = (body: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
});
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

/** Starts the traffic; `stop()` ends it, waits for the requests in flight, and returns the counts. */
export async function startTraffic(
  options: TrafficOptions,
): Promise<{ loginInFlight: () => boolean; stop: () => Promise<TrafficStats> }> {
  const { url, credentials, rate } = options;
  const maxInFlight = options.maxInFlight ?? 32;
  const answered: Record<string, number> = {};
  const examples: string[] = [];
  let total = 0;
  let unexpected = 0;
  let running = true as boolean;
  const isRunning = (): boolean => running;

  /** The answer's body when its status is the expected one; undefined (and counted) otherwise. */
  const send = async (request: Request): Promise<string | undefined> => {
    try {
      const response = await fetch(`${url}${request.path}`, {
        ...request.init,
        signal: AbortSignal.timeout(60_000),
      });
      const body = await response.text();
      total++;
      const key = `${request.kind} ${response.status}`;
      answered[key] = (answered[key] ?? 0) + 1;
      if (response.status !== request.expect) {
        unexpected++;
        if (examples.length < 10) examples.push(`${key} (expected ${request.expect}): ${body.slice(0, 200)}`);
        return undefined;
      }
      return body;
    } catch (error) {
      unexpected++;
      if (examples.length < 10) examples.push(`${request.kind}: ${String(error)}`);
      return undefined;
    }
  };

  let logins = 0;
  const login = async (kind: string, password: string, expect: number): Promise<string | undefined> => {
    logins++;
    const body = await send({
      kind,
      expect,
      path: "/login",
      init: json(JSON.stringify({ email: credentials.email, password })),
    }).finally(() => {
      logins--;
    });
    return body === undefined || expect !== 200 ? undefined : (JSON.parse(body) as { token: string }).token;
  };

  const longLived = await login("login", credentials.password, 200);
  if (longLived === undefined) throw new Error(`cannot log in at ${url}: ${examples.join("; ")}`);

  const steady: Request[] = [
    { kind: "health", expect: 200, path: "/health" },
    { kind: "me", expect: 200, path: "/me", init: bearer(longLived) },
    { kind: "health", expect: 200, path: "/health" },
    { kind: "me", expect: 200, path: "/me", init: bearer(longLived) },
    { kind: "me without token", expect: 401, path: "/me" },
    { kind: "me", expect: 200, path: "/me", init: bearer(longLived) },
    { kind: "me unknown token", expect: 401, path: "/me", init: bearer(randomUUID()) },
    { kind: "unknown route", expect: 404, path: "/no-such-route" },
    { kind: "malformed json", expect: 400, path: "/login", init: json('{"email": ') },
    { kind: "oversized body", expect: 400, path: "/login", init: json(`{"email":"${"x".repeat(20_000)}"}`) },
  ];

  const sessionInterval = options.sessionInterval ?? 2000;
  const sessions = (async () => {
    while (running) {
      const next = performance.now() + sessionInterval;
      const token = await login("login", credentials.password, 200);
      if (token !== undefined) {
        for (let i = 0; i < 3; i++) await send({ kind: "me", expect: 200, path: "/me", init: bearer(token) });
        await send({
          kind: "logout",
          expect: 204,
          path: "/logout",
          init: { method: "POST", ...bearer(token) },
        });
        await send({ kind: "me revoked token", expect: 401, path: "/me", init: bearer(token) });
      }
      await login("wrong password", `${credentials.password}-wrong`, 401);
      // Short sleeps, so stop() does not wait out a whole interval.
      while (isRunning() && performance.now() < next) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })();

  // The steady mix, paced: every tick sends what the rate owes since the start, within the in-flight cap.
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  let sent = 0;
  const pacer = (async () => {
    while (running) {
      const owed = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
      for (let i = 0; i < owed && inFlight.size < maxInFlight; i++) {
        const request = steady[sent % steady.length] as Request;
        const pending = send(request).finally(() => inFlight.delete(pending));
        inFlight.add(pending);
        sent++;
      }
      // Requests the cap held back are dropped, not owed: the rate is a ceiling, never a burst.
      sent = Math.max(sent, Math.floor(((performance.now() - started) / 1000) * rate) - maxInFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  return {
    loginInFlight: () => logins > 0,
    async stop() {
      running = false;
      await Promise.all([sessions, pacer]);
      await Promise.all(inFlight);
      return { answered, total, unexpected, examples };
    },
  };
}
