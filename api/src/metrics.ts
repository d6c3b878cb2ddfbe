import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { LabelSetTable } from "@tidbstack/service-kit";
import { RequestHistogram } from "./request-histogram.ts";

/** A registry of its own with the process metrics, so tests can build many side by side. */
function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API's Prometheus metrics. */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: RequestHistogram;
  readonly loginAttempts: Counter<"outcome">;
  /** Records one answered request in `httpRequests` and `httpDuration`, cheaply enough for every request. */
  readonly observeRequest: (method: string, route: string, status: number, seconds: number) => void;
}

export type LoginOutcome = "success" | "failure" | "rate_limited" | "invalid_request" | "unavailable";

export function createApiMetrics(): ApiMetrics {
  const registry = createRegistry();
  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route template and status code",
    labelNames: ["method", "route", "status"],
    registers: [registry],
    collect: () => {
      series.flushCounts((labels, count) => {
        httpRequests.inc(labels, count);
      });
    },
  });
  const httpDuration = new RequestHistogram({
    name: "http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method, route template and status code",
    labelNames: ["method", "route", "status"],
    // Login hashes a password (~100-300 ms); the rest answer in milliseconds.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registry,
  });
  // Per (method, route, status): its labels, requests not yet added to http_requests_total, and its series
  // in http_request_duration_seconds. The values are bounded: HTTP methods Node accepts, route templates
  // and status codes.
  const series = new LabelSetTable((method: string, route: string, status: number) => {
    const labels = { method, route, status: String(status) };
    return { labels, count: 0, duration: httpDuration.newSeries(labels) };
  });
  return {
    registry,
    httpRequests,
    httpDuration,
    observeRequest(method, route, status, seconds) {
      const entry = series.entry(method, route, status);
      entry.count++;
      httpDuration.observe(entry.duration, seconds);
    },
    loginAttempts: new Counter({
      name: "login_attempts_total",
      help: "Login attempts by outcome: success, failure (wrong credentials), rate_limited, invalid_request, unavailable",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}

/** The token purge's metrics, served on METRICS_PORT when it runs as a service. */
export interface PurgeMetrics {
  readonly registry: Registry;
  readonly tokensPurged: Counter;
  readonly runDuration: Histogram;
  readonly failures: Counter;
  readonly lastSuccess: Gauge;
}

export function createPurgeMetrics(): PurgeMetrics {
  const registry = createRegistry();
  return {
    registry,
    tokensPurged: new Counter({
      name: "tokens_purged_total",
      help: "Expired or revoked tokens deleted by the purge",
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: "token_purge_run_duration_seconds",
      help: "Time a purge run took, failed runs included",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    failures: new Counter({
      name: "token_purge_failures_total",
      help: "Purge runs that failed (the database unreachable, a query refused)",
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: "token_purge_last_success_timestamp_seconds",
      help: "When a purge run last completed, in Unix seconds (0 before the first): alert on its age",
      registers: [registry],
    }),
  };
}
