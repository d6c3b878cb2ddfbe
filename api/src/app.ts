import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "@tidbstack/service-kit";
import { isDatabaseUnavailable } from "./database.ts";
import { ApiError, databaseUnavailable, invalidRequest } from "./errors.ts";
import type { ApiMetrics } from "./metrics.ts";
import { RateLimiter, type LoginRateLimiter } from "./rate-limit.ts";
import { authRoutes, BODY_LIMIT } from "./routes/auth.ts";
import { healthRoutes } from "./routes/health.ts";
import { PasswordHasher } from "./passwords.ts";
import { databaseSessions, type SessionLookup } from "./sessions.ts";
import { pageRoutes } from "./routes/page.ts";
import { weakETag } from "./etag.ts";
import { sendJsonDirectly } from "./json-response.ts";
import { headerWriter, recordHelmet } from "./security-headers.ts";
import type { AuthStore } from "./store.ts";

export interface AppDeps {
  readonly store: AuthStore;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  readonly config: {
    readonly tokenTtlSeconds: number;
    readonly loginRateLimitPerMinute: number;
    readonly trustProxy: boolean | number;
  };
  /** The current time; injected so tests can expire tokens. Default: the system clock. */
  readonly clock?: () => Date;
  /** The login limit. Default: in memory, `loginRateLimitPerMinute` per client. */
  readonly limiter?: LoginRateLimiter;
  /** Password hashing. Default: Argon2id at OWASP's parameters, concurrency from the machine. */
  readonly passwords?: PasswordHasher;
  /** Where tokens are looked up. Default: the database on every request. */
  readonly sessions?: SessionLookup;
}

/**
 * helmet's defaults, except: plain HTTP behind the published port, so TLS, and HSTS with it, belong to
 * whatever terminates TLS. Recorded once and replayed on every response (see recordHelmet).
 */
export const HELMET_OPTIONS = {
  strictTransportSecurity: false,
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
} as const;
const SECURITY_HEADERS = recordHelmet(HELMET_OPTIONS);
/** Probes would drown the request log at info; they log at debug. */
const QUIET_ROUTES = new Set(["/health", "/ready"]);

/**
 * Builds the API: the middleware every request passes (security headers, request log and metrics), the
 * routes of each concern (routes/*.ts), a JSON 404, and the one error handler. It never listens: main.ts
 * does, and tests drive it on an ephemeral port.
 */
export function createApp(deps: AppDeps): express.Express {
  const { store, logger, metrics, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  const limiter = deps.limiter ?? new RateLimiter(config.loginRateLimitPerMinute, () => clock().getTime());

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  // The same ETags as Express's default, cheaper to compute (see weakETag).
  app.set("etag", weakETag);
  // The same JSON responses, without Express's round trips through the Content-Type header.
  sendJsonDirectly(app);
  app.use(everyRequest(headerWriter(SECURITY_HEADERS), observeRequests(logger, metrics)));

  pageRoutes(app);
  healthRoutes(app, { store, logger });
  authRoutes(app, {
    store,
    logger,
    metrics,
    tokenTtlSeconds: config.tokenTtlSeconds,
    clock,
    limiter,
    passwords: deps.passwords ?? new PasswordHasher(),
    sessions: deps.sessions ?? databaseSessions(store),
  });

  app.use((req: Request) => {
    throw new ApiError(404, "not_found", `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  return app;
}

/**
 * The security headers and the request's observation, in one middleware: every Express layer a request
 * passes costs the router's next(), match and debug calls, about 0.3-0.6 µs per request in CPU profiles of
 * GET /health, which is all the middleware itself does besides setting headers.
 */
function everyRequest(
  setHeaders: (res: Response) => void,
  observe: (req: Request, res: Response) => void,
): RequestHandler {
  return (req, res, next) => {
    setHeaders(res);
    observe(req, res);
    next();
  };
}

/** When the response's request started, by performance.now(); kept on the response for its "finish". */
const STARTED = Symbol("request started");
type ObservedResponse = Response & { [STARTED]?: number };

/**
 * One log line and one metric sample per answered request, labelled by route template, not raw path.
 * One "finish" listener per app, not a closure per request: the request and its start come from the
 * response it is called on.
 */
function observeRequests(logger: Logger, metrics: ApiMetrics): (req: Request, res: Response) => void {
  function onFinish(this: ObservedResponse): void {
    const seconds = (performance.now() - (this[STARTED] ?? 0)) / 1000;
    const { req } = this;
    const route = routeOf(req);
    metrics.observeRequest(req.method, route, this.statusCode, seconds);
    // Probes and scrapes log at debug: the line is only built when it will be written.
    const quiet = QUIET_ROUTES.has(route);
    if (quiet ? !logger.isDebugEnabled() : !logger.isInfoEnabled()) return;
    const line = {
      action: "request",
      method: req.method,
      route,
      status: this.statusCode,
      durationMs: Math.round(seconds * 1e4) / 10,
    };
    if (quiet) logger.debug(line);
    else logger.info(line);
  }
  return (_req, res) => {
    (res as ObservedResponse)[STARTED] = performance.now();
    res.on("finish", onFinish);
  };
}

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
