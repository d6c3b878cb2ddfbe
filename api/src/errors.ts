/**
 * The one error type a request handler throws on purpose. The error middleware turns it into
 * `{"error": {"code", "message"}}` with its status; anything else becomes a generic 500.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Extra response headers, e.g. Retry-After on a 429. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const invalidRequest = (message: string): ApiError => new ApiError(400, "invalid_request", message);

export const unauthorized = (message = "a valid bearer token is required"): ApiError =>
  new ApiError(401, "unauthorized", message, { "WWW-Authenticate": 'Bearer realm="api"' });

/** A well-formed token the database does not accept: never issued, expired, or logged out. */
export const staleToken = (): ApiError => unauthorized("the token is unknown, expired or revoked");

export const databaseUnavailable = (): ApiError =>
  new ApiError(503, "database_unavailable", "the database is unavailable; try again shortly");
