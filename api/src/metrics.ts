import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/** The API's Prometheus metrics, on a registry of their own so tests can build many apps side by side. */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly loginAttempts: Counter<"outcome">;
}

export type LoginOutcome = "success" | "failure" | "rate_limited" | "invalid_request" | "unavailable";

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status code",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "Time to answer an HTTP request, by method, route template and status code",
      labelNames: ["method", "route", "status"],
      // Login hashes a password (~100-300 ms); the rest answer in milliseconds.
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    loginAttempts: new Counter({
      name: "login_attempts_total",
      help: "Login attempts by outcome: success, failure (wrong credentials), rate_limited, invalid_request, unavailable",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
