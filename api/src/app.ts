import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "@tidbstack/service-kit";
import { isDatabaseUnavailable } from "./database.ts";
import { ApiError, databaseUnavailable, invalidRequest, staleToken, unauthorized } from "./errors.ts";
import { LOGIN_PAGE_HTML, LOGIN_PAGE_SCRIPT } from "./login-page.ts";
import type { ApiMetrics, LoginOutcome } from "./metrics.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { RateLimiter, type LoginRateLimiter, type RateLimitDecision } from "./rate-limit.ts";
import { recordHelmet, securityHeaders } from "./security-headers.ts";
import type { AuthStore, SessionUser } from "./store.ts";
import { bearerToken, hashToken, newToken } from "./tokens.ts";

export interface AppDeps {
  readonly store: AuthStore;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  readonly config: {
    readonly tokenTtlSeconds: number;
    readonly loginRateLimitPerMinute: number;
    readonly trustProxy: boolean;
  };
  /** The current time; injected so tests can expire tokens. Default: the system clock. */
  readonly clock?: () => Date;
  /** The login limit. Default: in memory, `loginRateLimitPerMinute` per client. */
  readonly limiter?: LoginRateLimiter;
}

/** Login bodies are two short strings; anything larger is refused before it is parsed. */
const BODY_LIMIT = "8kb";
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;
const READY_TIMEOUT_MS = 1000;
/**
 * helmet's defaults, except: plain HTTP behind the published port, so TLS, and HSTS with it, belong to
 * whatever terminates TLS. Recorded once and replayed on every response (see recordHelmet).
 */
export const HELMET_OPTIONS = {
  strictTransportSecurity: false,
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
} as const;
const SECURITY_HEADERS = recordHelmet(HELMET_OPTIONS);
/** Probes and scrapes would drown the request log at info; they log at debug. */
const QUIET_ROUTES = new Set(["/health", "/ready", "/metrics"]);

interface Credentials {
  readonly email: string;
  readonly password: string;
}

function parseCredentials(body: unknown): Credentials {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("expected a JSON object with email and password");
  }
  const { email, password } = body as Record<string, unknown>;
  if (typeof email !== "string" || email.trim() === "" || email.length > MAX_EMAIL_LENGTH) {
    throw invalidRequest(`email must be a non-empty string of at most ${MAX_EMAIL_LENGTH} characters`);
  }
  if (typeof password !== "string" || password === "" || password.length > MAX_PASSWORD_LENGTH) {
    throw invalidRequest(`password must be a non-empty string of at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return { email: email.trim().toLowerCase(), password };
}

/** Builds the API. It never listens: main.ts does, and tests drive it on an ephemeral port. */
export function createApp(deps: AppDeps): express.Express {
  const { store, logger, metrics, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  const limiter = deps.limiter ?? new RateLimiter(config.loginRateLimitPerMinute, () => clock().getTime());
  // Unknown emails are checked against this hash too, so they cost the same time as a wrong password.
  let decoyHash: Promise<string> | undefined;
  const decoy = (): Promise<string> => (decoyHash ??= hashPassword("decoy password for unknown users"));

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  app.use(securityHeaders(SECURITY_HEADERS));
  app.use(observeRequests(logger, metrics));

  const logLogin = (outcome: LoginOutcome, ip: string, userId: number | null, reason?: string): void => {
    metrics.loginAttempts.inc({ outcome });
    const fields = { action: "login", outcome: outcome === "success" ? "success" : "failure", userId, ip };
    if (outcome === "success") logger.info(fields);
    else logger.warn({ ...fields, reason: reason ?? outcome });
  };

  const authenticate = async (req: Request): Promise<{ user: SessionUser; tokenHash: string }> => {
    const token = bearerToken(req.get("authorization"));
    if (token === undefined) throw unauthorized();
    const tokenHash = hashToken(token);
    const user = await store.findSessionUser(tokenHash, clock());
    if (user === undefined) throw staleToken();
    return { user, tokenHash };
  };

  app.get("/", (_req, res) => {
    res.type("html").send(LOGIN_PAGE_HTML);
  });
  app.get("/login.js", (_req, res) => {
    res.type("js").send(LOGIN_PAGE_SCRIPT);
  });
  // Browsers ask for it on every page; an empty answer keeps their consoles and the 404 metrics clean.
  app.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });

  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/ready", async (_req, res) => {
    try {
      await store.ping(READY_TIMEOUT_MS);
      res.json({ status: "ready" });
    } catch (error) {
      logger.warn({ action: "readiness_failed" }, error instanceof Error ? error.message : String(error));
      res.status(503).json({ status: "unavailable" });
    }
  });

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post("/login", express.json({ limit: BODY_LIMIT, strict: true }), async (req, res) => {
    const ip = clientIp(req);
    let decision: RateLimitDecision;
    try {
      decision = await limiter.take(ip);
    } catch (error) {
      // Fail closed: an attempt the limiter could not count is not let through (503, or 500 if not an outage).
      if (isDatabaseUnavailable(error)) logLogin("unavailable", ip, null);
      throw error;
    }
    if (!decision.allowed) {
      logLogin("rate_limited", ip, null);
      throw new ApiError(429, "rate_limited", "too many login attempts; retry later", {
        "Retry-After": String(decision.retryAfterSeconds),
      });
    }
    let credentials: Credentials;
    try {
      credentials = parseCredentials(req.body);
    } catch (error) {
      logLogin("invalid_request", ip, null);
      throw error;
    }
    let user;
    try {
      user = await store.findUserByEmail(credentials.email);
    } catch (error) {
      if (isDatabaseUnavailable(error)) logLogin("unavailable", ip, null);
      throw error;
    }
    const clientGone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished)
        clientGone.abort(new ApiError(499, "client_closed_request", "the client went away"));
    });
    const passwordMatches = await verifyPassword(
      credentials.password,
      user?.passwordHash ?? (await decoy()),
      clientGone.signal,
    );
    if (user === undefined || !passwordMatches) {
      logLogin("failure", ip, null, user === undefined ? "unknown_email" : "wrong_password");
      throw new ApiError(401, "invalid_credentials", "email or password is incorrect");
    }
    const token = newToken();
    const now = clock();
    const expiresAt = new Date(now.getTime() + config.tokenTtlSeconds * 1000);
    await store.insertToken(user.id, hashToken(token), now, expiresAt);
    logLogin("success", ip, user.id);
    res.set("Cache-Control", "no-store").json({ token, expiresAt: expiresAt.toISOString() });
  });

  app.get("/me", async (req, res) => {
    const { user } = await authenticate(req);
    res.set("Cache-Control", "no-store").json({ userId: user.userId, email: user.email });
  });

  app.post("/logout", async (req, res) => {
    const { user, tokenHash } = await authenticate(req);
    if (!(await store.revokeToken(tokenHash, clock()))) throw staleToken();
    logger.info({ action: "logout", userId: user.userId, ip: clientIp(req) });
    res.status(204).end();
  });

  app.use((req: Request) => {
    throw new ApiError(404, "not_found", `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  return app;
}

/** One log line and one metric sample per answered request, labelled by route template, not raw path. */
function observeRequests(logger: Logger, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeOf(req);
      metrics.observeRequest(req.method, route, res.statusCode, seconds);
      // Probes and scrapes log at debug: the line is only built when it will be written.
      const quiet = QUIET_ROUTES.has(route);
      if (quiet ? !logger.isDebugEnabled() : !logger.isInfoEnabled()) return;
      const line = {
        action: "request",
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e4) / 10,
      };
      if (quiet) logger.debug(line);
      else logger.info(line);
    });
    next();
  };
}

/** The client's address as Express resolves it (X-Forwarded-For only with TRUST_PROXY). */
const clientIp = (req: Request): string => req.ip ?? "unknown";

/** The matched route's template ("/me"), or "unmatched" so unknown paths cannot explode label cardinality. */
function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === "string" ? path : "unmatched";
}

/** Body-parser failures carry a `type`; map the ones a client causes to 400s. */
function fromBodyParser(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === "entity.parse.failed") return invalidRequest("the request body is not valid JSON");
  if (type === "entity.too.large")
    return new ApiError(400, "body_too_large", `the request body exceeds ${BODY_LIMIT}`);
  if (type === "encoding.unsupported" || type === "charset.unsupported") {
    return invalidRequest("the request body must be UTF-8 JSON");
  }
  // Whatever else body-parser refuses as the client's fault (a gzip or deflate body that does not
  // decompress, a body that ends before its Content-Length) is marked with a 4xx status.
  const { status, expose } = (error ?? {}) as { status?: unknown; expose?: unknown };
  if (expose === true && typeof status === "number" && status >= 400 && status < 500) {
    return invalidRequest("the request body could not be read");
  }
  return undefined;
}

/** Registered last: every failure becomes a JSON error body; internals never reach the client. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res: Response, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    let apiError = error instanceof ApiError ? error : fromBodyParser(error);
    if (apiError === undefined && isDatabaseUnavailable(error)) {
      logger.warn({ action: "database_unavailable", method: req.method, route: routeOf(req) }, error);
      apiError = databaseUnavailable();
    }
    if (apiError === undefined) {
      logger.error({ action: "request_failed", method: req.method, route: routeOf(req) }, error);
      apiError = new ApiError(500, "internal_error", "internal error");
    }
    res
      .status(apiError.status)
      .set(apiError.headers)
      .json({ error: { code: apiError.code, message: apiError.message } });
  };
}
