import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram, Registry } from "prom-client";
import { RequestHistogram } from "../../src/request-histogram.ts";

const OPTIONS = {
  name: "http_request_duration_seconds",
  help: "Time to answer an HTTP request, by method, route template and status code",
  labelNames: ["method", "route", "status"],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
} as const;

/** The same observations into prom-client's Histogram and into RequestHistogram, each on its own registry. */
function both() {
  const reference = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({
    ...OPTIONS,
    labelNames: [...OPTIONS.labelNames],
    buckets: [...OPTIONS.buckets],
    registers: [reference],
  });
  const requests = new RequestHistogram({ ...OPTIONS, registry: ours });
  const series = new Map<string, ReturnType<RequestHistogram["newSeries"]>>();
  const observe = (labels: { method: string; route: string; status: string }, value: number) => {
    histogram.observe(labels, value);
    const key = JSON.stringify(labels);
    if (!series.has(key)) series.set(key, requests.newSeries(labels));
    requests.observe(series.get(key) as ReturnType<RequestHistogram["newSeries"]>, value);
  };
  return { reference, ours, observe };
}

describe("RequestHistogram", () => {
  it("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const { reference, ours, observe } = both();
    const health = { method: "GET", route: "/health", status: "200" };
    const login = { method: "POST", route: "/login", status: "401" };
    // On a bound (counted in that bucket), between bounds, below the first, above the last, zero.
    for (const value of [0.005, 0.0004, 0.003, 0, 0.7, 9, 5, 0.0051]) observe(health, value);
    for (const value of [0.3, 0.31, 2.6]) observe(login, value);
    assert.equal(await ours.metrics(), await reference.metrics());
    assert.deepEqual(await ours.getMetricsAsJSON(), await reference.getMetricsAsJSON());
  });

  it("starts from nothing after a reset, as prom-client does", async () => {
    const { reference, ours, observe } = both();
    observe({ method: "GET", route: "/me", status: "200" }, 0.002);
    reference.resetMetrics();
    ours.resetMetrics();
    assert.equal(await ours.metrics(), await reference.metrics());
    observe({ method: "GET", route: "/me", status: "200" }, 0.02);
    assert.equal(await ours.metrics(), await reference.metrics());
  });

  it("refuses a value that is not a finite number, and buckets that do not increase", () => {
    const { observe } = both();
    assert.throws(() => {
      observe({ method: "GET", route: "/x", status: "200" }, Number.NaN);
    }, TypeError);
    assert.throws(
      () => new RequestHistogram({ ...OPTIONS, buckets: [1, 0.5], registry: new Registry() }),
      /must increase/,
    );
  });
});
