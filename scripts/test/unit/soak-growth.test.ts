import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry, collectDefaultMetrics } from "prom-client";
import { analyseGrowth, median, slope, type Sample } from "../../soak/growth.ts";
import { metricSum } from "../../soak/metrics.ts";

const MIB = 2 ** 20;
const LIMITS = { minBytes: 16 * MIB, fraction: 0.2 };

/** A sample every 5 s for 10 minutes: `base(t)` plus a garbage-collection sawtooth of 0-24 MiB every 35 s. */
const series = (base: (t: number) => number): Sample[] =>
  Array.from({ length: 120 }, (_, i) => {
    const t = i * 5;
    return { t, value: base(t) + ((t % 35) / 35) * 24 * MIB };
  });

describe("the soak's growth criterion", () => {
  it("passes a steady heap that saws by 24 MiB between collections", () => {
    const growth = analyseGrowth(
      series(() => 80 * MIB),
      LIMITS,
    );
    assert.equal(growth.unbounded, false, growth.verdict);
    assert.ok(Math.abs(growth.growth) < 8 * MIB);
  });

  it("fails a leak of 5 MiB a minute, however noisy", () => {
    const growth = analyseGrowth(
      series((t) => 80 * MIB + (t / 60) * 5 * MIB),
      LIMITS,
    );
    assert.equal(growth.unbounded, true, growth.verdict);
    assert.ok(Math.abs(growth.slopePerMinute - 5 * MIB) < 1.5 * MIB, `slope ${growth.slopePerMinute / MIB}`);
  });

  it("passes memory that fills a bounded cache early and then stays flat, though it grew past the limit", () => {
    const growth = analyseGrowth(
      series((t) => 80 * MIB + Math.min(t, 200) * 0.4 * MIB),
      LIMITS,
    );
    assert.ok(growth.growth > growth.limit, "it did grow past the limit");
    assert.equal(growth.unbounded, false, growth.verdict);
    assert.match(growth.verdict, /flattened/);
  });

  it("fails a leak that starts late, once it has grown past the limit", () => {
    const growth = analyseGrowth(
      series((t) => 80 * MIB + Math.max(0, t - 300) * 0.2 * MIB),
      LIMITS,
    );
    assert.equal(growth.unbounded, true, growth.verdict);
  });

  it("scales the limit with the process: 20% of a 1 GiB heap is not a leak signal at 100 MiB of growth", () => {
    const growth = analyseGrowth(
      series((t) => 1024 * MIB + Math.min(t, 400) * 0.25 * MIB),
      LIMITS,
    );
    assert.equal(growth.limit, 0.2 * growth.firstMedian);
    assert.equal(growth.unbounded, false, growth.verdict);
  });

  it("refuses to judge too few samples", () => {
    assert.throws(() => analyseGrowth(series(() => MIB).slice(0, 8), LIMITS), /at least 9/);
  });

  it("computes medians and least-squares slopes", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(
      slope([
        { t: 0, value: 1 },
        { t: 1, value: 3 },
        { t: 2, value: 5 },
      ]),
      2,
    );
  });
});

describe("reading /metrics", () => {
  it("finds the memory and event-loop metrics in prom-client's default metrics", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const text = await registry.metrics();
    assert.ok((metricSum(text, "process_resident_memory_bytes") ?? 0) > MIB);
    assert.ok((metricSum(text, "nodejs_heap_size_used_bytes") ?? 0) > MIB);
    assert.equal(typeof metricSum(text, "nodejs_eventloop_lag_p99_seconds"), "number");
  });

  it("sums every series of a metric and nothing else", () => {
    const text = [
      "# HELP cdc_events_total Row changes",
      "# TYPE cdc_events_total counter",
      'cdc_events_total{table="users",type="INSERT"} 3',
      'cdc_events_total{table="tokens",type="DELETE"} 4',
      "cdc_events_total_other 100",
      "cdc_events 100",
    ].join("\n");
    assert.equal(metricSum(text, "cdc_events_total"), 7);
    assert.equal(metricSum(text, "missing_metric"), undefined);
  });
});
