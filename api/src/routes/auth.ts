import express, { type IRouter, type Request } from "express";
import type { Logger } from "@tidbstack/service-kit";
import { isDatabaseUnavailable } from "../database.ts";
import { ApiError, invalidRequest, staleToken, unauthorized } from "../errors.ts";
import type { ApiMetrics, LoginOutcome } from "../metrics.ts";
import type { PasswordHasher } from "../passwords.ts";
import type { LoginRateLimiter, RateLimitDecision } from "../rate-limit.ts";
import type { SessionLookup } from "../sessions.ts";
import type { AuthStore, SessionUser, UserCredentials } from "../store.ts";
import { bearerToken, hashToken, newToken } from "../tokens.ts";

/** Login bodies are two short strings; anything larger is refused before it is parsed. */
export const BODY_LIMIT = "8kb";
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;

export interface AuthRouteDeps {
  readonly store: AuthStore;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  /** How long a new token stays valid, in seconds. */
  readonly tokenTtlSeconds: number;
  /** The current time: tokens are issued, checked and revoked by it. */
  readonly clock: () => Date;
  /** Asked before any password is hashed: may this client try now? */
  readonly limiter: LoginRateLimiter;
  readonly passwords: PasswordHasher;
  /** Where /me and /logout find a token's user (the database, or a cache of it). */
  readonly sessions: SessionLookup;
}

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

/** The client's address as Express resolves it (X-Forwarded-For only with TRUST_PROXY). */
const clientIp = (req: Request): string => req.ip ?? "unknown";

/**
 * POST /login (rate limited, one audit line per attempt), GET /me and POST /logout with a bearer token.
 * Failures are thrown as ApiErrors for the app's one error handler.
 */
export function authRoutes(router: IRouter, deps: AuthRouteDeps): void {
  const { store, logger, metrics, clock, limiter, passwords, sessions } = deps;

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
    const user = await sessions.find(tokenHash, clock());
    if (user === undefined) throw staleToken();
    return { user, tokenHash };
  };

  /**
   * Stores a hash under the current policy in place of a weaker one, only if the row still holds the hash
   * just verified. A failure is logged, not answered: the login itself has succeeded.
   */
  const upgradeHash = async (user: UserCredentials, password: string): Promise<void> => {
    try {
      const upgraded = await store.replacePasswordHash(
        user.id,
        user.passwordHash,
        await passwords.hash(password),
      );
      logger.info({
        action: "password_rehash",
        userId: user.id,
        outcome: upgraded ? "upgraded" : "already_replaced",
      });
    } catch (error) {
      logger.warn({ action: "password_rehash", userId: user.id, outcome: "failed" }, error);
    }
  };

  router.post("/login", express.json({ limit: BODY_LIMIT, strict: true }), async (req, res) => {
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
    let user: UserCredentials | undefined;
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
    // An unknown email is checked against a decoy hash: it costs what a wrong password costs.
    const verification = await passwords.verify(credentials.password, user?.passwordHash, clientGone.signal);
    if (user === undefined || !verification.valid) {
      logLogin("failure", ip, null, user === undefined ? "unknown_email" : "wrong_password");
      throw new ApiError(401, "invalid_credentials", "email or password is incorrect");
    }
    if (verification.needsRehash) await upgradeHash(user, credentials.password);
    const token = newToken();
    const now = clock();
    const expiresAt = new Date(now.getTime() + deps.tokenTtlSeconds * 1000);
    await store.insertToken(user.id, hashToken(token), now, expiresAt);
    logLogin("success", ip, user.id);
    res.set("Cache-Control", "no-store").json({ token, expiresAt: expiresAt.toISOString() });
  });

  router.get("/me", async (req, res) => {
    const { user } = await authenticate(req);
    res.set("Cache-Control", "no-store").json({ userId: user.userId, email: user.email });
  });

  router.post("/logout", async (req, res) => {
    const { user, tokenHash } = await authenticate(req);
    if (!(await store.revokeToken(tokenHash, clock()))) throw staleToken();
    sessions.forget(tokenHash);
    logger.info({ action: "logout", userId: user.userId, ip: clientIp(req) });
    res.status(204).end();
  });
}
