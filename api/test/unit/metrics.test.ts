import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createApiMetrics } from "../../src/metrics.ts";

const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("API request metrics", () => {
  it("count every observed request exactly once, however often they are scraped", async () => {
    const metrics = createApiMetrics();
    const health = 'http_requests_total{method="GET",route="/health",status="200"}';
    for (let i = 0; i < 3; i++) metrics.observeRequest("GET", "/health", 200, 0.0004);
    metrics.observeRequest("GET", "unmatched", 404, 0.002);
    assert.equal(sample(await metrics.registry.metrics(), health), 3);
    assert.equal(sample(await metrics.registry.metrics(), health), 3);
    metrics.observeRequest("GET", "/health", 200, 0.02);
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, health), 4);
    assert.equal(sample(text, 'http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
  });

  it("put each duration in its histogram buckets, by method, route and status", async () => {
    const metrics = createApiMetrics();
    for (const seconds of [0.0004, 0.003, 0.02, 7]) metrics.observeRequest("POST", "/login", 401, seconds);
    const text = await metrics.registry.metrics();
    const bucket = (le: string) =>
      sample(
        text,
        `http_request_duration_seconds_bucket{le="${le}",method="POST",route="/login",status="401"}`,
      );
    assert.deepEqual(["0.001", "0.005", "0.025", "5", "+Inf"].map(bucket), [1, 2, 3, 3, 4]);
    assert.equal(
      sample(text, 'http_request_duration_seconds_count{method="POST",route="/login",status="401"}'),
      4,
    );
    assert.ok(
      Math.abs(
        (sample(text, 'http_request_duration_seconds_sum{method="POST",route="/login",status="401"}') ?? 0) -
          7.0234,
      ) < 1e-9,
    );
  });
});
