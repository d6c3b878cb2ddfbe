import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { RequestHistogram, type HistogramSeries } from "./request-histogram.ts";

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
  const series = new RequestSeries(httpDuration);
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

type RequestLabels = Readonly<{ method: string; route: string; status: string }>;

/** What is kept per (method, route, status). */
interface RequestEntry {
  /** Built once, instead of per request. */
  readonly labels: RequestLabels;
  /** Requests not yet added to http_requests_total. */
  count: number;
  /** The label set's series in http_request_duration_seconds. */
  readonly duration: HistogramSeries;
}

/**
 * One entry per (method, route, status) answered so far. prom-client hashes and validates the labels on
 * every inc(), so http_requests_total is fed the accumulated counts when it is collected (every scrape)
 * instead: a scrape still sees every request answered before it. The label values are bounded (HTTP
 * methods Node accepts, route templates, status codes), so the map is too.
 */
class RequestSeries {
  private readonly entries = new Map<string, Map<string, Map<number, RequestEntry>>>();
  private readonly durations: RequestHistogram;

  constructor(durations: RequestHistogram) {
    this.durations = durations;
  }

  entry(method: string, route: string, status: number): RequestEntry {
    let routes = this.entries.get(method);
    if (routes === undefined) {
      routes = new Map<string, Map<number, RequestEntry>>();
      this.entries.set(method, routes);
    }
    let statuses = routes.get(route);
    if (statuses === undefined) {
      statuses = new Map<number, RequestEntry>();
      routes.set(route, statuses);
    }
    let entry = statuses.get(status);
    if (entry === undefined) {
      const labels = { method, route, status: String(status) };
      entry = { labels, count: 0, duration: this.durations.newSeries(labels) };
      statuses.set(status, entry);
    }
    return entry;
  }

  flushCounts(apply: (labels: RequestLabels, count: number) => void): void {
    for (const routes of this.entries.values())
      for (const statuses of routes.values())
        for (const entry of statuses.values()) {
          if (entry.count === 0) continue;
          apply(entry.labels, entry.count);
          entry.count = 0;
        }
  }
}
