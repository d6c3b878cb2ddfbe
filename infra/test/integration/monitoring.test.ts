/**
 * The monitoring configuration checked by Prometheus's own tool: the generated scrape configuration, the
 * alert rules, unit tests that make every alert fire on a synthetic series and stay silent on a healthy one,
 * and every dashboard query parsed as PromQL. promtool comes from Debian's prometheus package.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { createApiMetrics } from "@tidbstack/api/metrics";
import { createConsumerMetrics } from "@tidbstack/consumer/metrics";
import {
  ALERTS,
  alertRules,
  DEFAULT_RUNBOOK_BASE_URL,
  runbookUrl,
} from "../../src/lib/monitoring/alert-rules.ts";
import { DASHBOARDS, UPSTREAM_METRICS } from "../../src/lib/monitoring/dashboards.ts";
import { prometheusConfig } from "../../src/lib/monitoring/prometheus-config.ts";

const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run("promtool", args);
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

const workDir = () => mkdtempSync(join(tmpdir(), "tidbstack-promtool-"));

describe("the Prometheus configuration and alert rules, checked by promtool", () => {
  for (const [pdCount, tikvCount] of [
    [1, 1],
    [3, 3],
  ] as const) {
    it(`the scrape configuration for ${pdCount} PD and ${tikvCount} TiKV is valid`, async () => {
      const dir = workDir();
      writeJson(dir, "tidbstack.yml", alertRules());
      const config = { ...prometheusConfig({ pdCount, tikvCount }), rule_files: [join(dir, "*.yml")] };
      const output = await promtool("check", "config", writeJson(dir, "prometheus.json", config));
      assert.match(output, /SUCCESS/);
    });
  }

  it("the alert rules are valid (their annotations are checked by test/unit/alerting.test.ts)", async () => {
    const dir = workDir();
    assert.match(
      await promtool("check", "rules", writeJson(dir, "tidbstack.yml", alertRules())),
      /SUCCESS: \d+ rules found/,
    );
  });

  it("every alert fires on a synthetic failing series and stays silent on a healthy one (promtool test rules)", async () => {
    const dir = workDir();
    writeJson(dir, "tidbstack.yml", alertRules());
    const summaryOf = (alertname: string) => ALERTS.find((a) => a.name === alertname)?.summary ?? "";
    const requests = (errorsPerMinute: number) => [
      { series: 'http_requests_total{job="api",route="/me",status="200"}', values: "0+60x80" },
      {
        series: 'http_requests_total{job="api",route="/me",status="500"}',
        values: `0+${errorsPerMinute}x80`,
      },
    ];
    const lagSeries = (group: string, partition: string) =>
      `cdc_consumer_group_lag_messages{job="consumer",group="${group}",topic="appdb-cdc",partition="${partition}"}`;
    const loginBuckets = (slow: boolean) =>
      ["0.5", "1", "2.5", "5", "+Inf"].map((le) => ({
        series: `http_request_duration_seconds_bucket{job="api",route="/login",le="${le}"}`,
        values: (slow ? ["5", "+Inf"] : ["0.5", "1", "2.5", "5", "+Inf"]).includes(le) ? "0+10x30" : "0x30",
      }));
    const test = (
      interval: string,
      series: { series: string; values: string }[],
      alertname: string,
      evalTime: string,
      expected: { labels: Record<string, string>; description: string } | null,
    ) => ({
      interval,
      input_series: series,
      alert_rule_test: [
        {
          eval_time: evalTime,
          alertname,
          exp_alerts:
            expected === null
              ? []
              : [
                  {
                    exp_labels: expected.labels,
                    exp_annotations: {
                      summary: summaryOf(alertname),
                      description: expected.description,
                      runbook_url: runbookUrl(DEFAULT_RUNBOOK_BASE_URL, alertname),
                    },
                  },
                ],
        },
      ],
    });
    const tests = [
      test("15s", [{ series: 'up{job="api",instance="api:3000"}', values: "0x20" }], "TargetDown", "3m", {
        labels: { severity: "page", job: "api", instance: "api:3000" },
        description: "api target api:3000 has not answered a scrape for 2 minutes",
      }),
      test(
        "15s",
        [{ series: 'up{job="api",instance="api:3000"}', values: "1x20" }],
        "TargetDown",
        "3m",
        null,
      ),
      test("1m", requests(60), "ApiErrorBudgetFastBurn", "70m", {
        labels: { severity: "page", job: "api" },
        description: "The API is burning its 99.9% availability budget 14x too fast (5xx ratio 50%)",
      }),
      test("1m", requests(0), "ApiErrorBudgetFastBurn", "70m", null),
      test("1m", requests(60), "ApiErrorBudgetSlowBurn", "70m", {
        labels: { severity: "ticket", job: "api" },
        description: "The API is burning its 99.9% availability budget 6x too fast (5xx ratio 50%)",
      }),
      test("1m", requests(0), "ApiErrorBudgetSlowBurn", "70m", null),
      test("1m", loginBuckets(true), "LoginLatencyHigh", "20m", {
        labels: { severity: "ticket", job: "api" },
        description: "Login p99 latency is 4.975s: password hashing is saturated",
      }),
      test("1m", loginBuckets(false), "LoginLatencyHigh", "20m", null),
      test(
        "1m",
        [{ series: 'ticdc_owner_status{job="ticdc",changefeed="appdb-to-kafka"}', values: "1x20" }],
        "ChangefeedNotNormal",
        "10m",
        {
          labels: { severity: "page", job: "ticdc", changefeed: "appdb-to-kafka" },
          description: "TiCDC changefeed appdb-to-kafka is not normal (state code 1)",
        },
      ),
      test(
        "1m",
        [{ series: 'ticdc_owner_status{job="ticdc",changefeed="appdb-to-kafka"}', values: "0x20" }],
        "ChangefeedNotNormal",
        "10m",
        null,
      ),
      test(
        "1m",
        [
          {
            series: 'ticdc_owner_checkpoint_ts_lag{job="ticdc",changefeed="appdb-to-kafka"}',
            values: "120x20",
          },
        ],
        "TicdcCheckpointLagHigh",
        "10m",
        {
          labels: { severity: "page", job: "ticdc", changefeed: "appdb-to-kafka" },
          description: "TiCDC changefeed appdb-to-kafka checkpoint is 2m 0s behind",
        },
      ),
      test(
        "1m",
        [
          {
            series: 'ticdc_owner_checkpoint_ts_lag{job="ticdc",changefeed="appdb-to-kafka"}',
            values: "3x20",
          },
        ],
        "TicdcCheckpointLagHigh",
        "10m",
        null,
      ),
      test(
        "1m",
        [{ series: 'cdc_last_watermark_timestamp_seconds{job="consumer"}', values: "0x20" }],
        "CdcFreshnessStale",
        "10m",
        {
          labels: { severity: "page", job: "consumer" },
          description: "The consumer's newest TiCDC watermark is 10m 0s old: downstream is stale",
        },
      ),
      test(
        "1m",
        [{ series: 'cdc_last_watermark_timestamp_seconds{job="consumer"}', values: "0+60x20" }],
        "CdcFreshnessStale",
        "10m",
        null,
      ),
      test(
        "1m",
        [
          {
            series: lagSeries("appdb-cdc-consumer", "0"),
            values: "2000+100x40",
          },
        ],
        "ConsumerLagGrowing",
        "30m",
        {
          labels: { severity: "ticket", job: "consumer", group: "appdb-cdc-consumer" },
          description: "Consumer group appdb-cdc-consumer is 5000 messages behind and falling further behind",
        },
      ),
      test(
        "1m",
        [
          {
            series: lagSeries("appdb-cdc-consumer", "0"),
            values: "5000x40",
          },
        ],
        "ConsumerLagGrowing",
        "30m",
        null,
      ),
      // Two groups on a two-partition topic: only the one falling behind alerts, named by its group.
      test(
        "1m",
        [
          { series: lagSeries("appdb-cdc-consumer", "0"), values: "10x40" },
          { series: lagSeries("appdb-cdc-consumer", "1"), values: "10x40" },
          { series: lagSeries("audit", "0"), values: "600+50x40" },
          { series: lagSeries("audit", "1"), values: "600+50x40" },
        ],
        "ConsumerLagGrowing",
        "30m",
        {
          labels: { severity: "ticket", job: "consumer", group: "audit" },
          description: "Consumer group audit is 4200 messages behind and falling further behind",
        },
      ),
      // Two groups each under the threshold and rising: their sum is over it, but no group is behind.
      test(
        "1m",
        [
          { series: lagSeries("appdb-cdc-consumer", "0"), values: "400+5x40" },
          { series: lagSeries("audit", "0"), values: "400+5x40" },
        ],
        "ConsumerLagGrowing",
        "30m",
        null,
      ),
      test(
        "1m",
        [{ series: 'cdc_dlq_messages_total{job="consumer",reason="not_json"}', values: "0 0 0 1 1 1 1" }],
        "DlqMessages",
        "5m",
        {
          labels: { severity: "ticket", job: "consumer" },
          description: "About 1 message(s) went to the dead-letter topic in the last 10 minutes",
        },
      ),
      test(
        "1m",
        [{ series: 'cdc_dlq_messages_total{job="consumer",reason="not_json"}', values: "0x6" }],
        "DlqMessages",
        "5m",
        null,
      ),
      test(
        "1m",
        [
          {
            series: 'pd_cluster_status{job="pd",instance="pd:2379",type="store_down_count"}',
            values: "1x10",
          },
        ],
        "TikvStoreDown",
        "5m",
        {
          labels: { severity: "page", job: "tikv" },
          description: "PD reports 1 TiKV store(s) down or disconnected",
        },
      ),
      test(
        "1m",
        [
          {
            series: 'pd_cluster_status{job="pd",instance="pd:2379",type="store_down_count"}',
            values: "0x10",
          },
          { series: 'pd_cluster_status{job="pd",instance="pd:2379",type="store_up_count"}', values: "3x10" },
        ],
        "TikvStoreDown",
        "5m",
        null,
      ),
    ];
    const alertNames = alertRules()
      .groups.flatMap((g) => g.rules)
      .flatMap((r) => (r.alert === undefined ? [] : [r.alert]));
    for (const name of alertNames) {
      const cases = tests.filter((t) => t.alert_rule_test[0]?.alertname === name);
      assert.ok(
        cases.some((t) => (t.alert_rule_test[0]?.exp_alerts.length ?? 0) > 0) &&
          cases.some((t) => t.alert_rule_test[0]?.exp_alerts.length === 0),
        `${name} needs a firing and a silent case`,
      );
    }
    const output = await promtool(
      "test",
      "rules",
      writeJson(dir, "tests.yml", { rule_files: ["tidbstack.yml"], evaluation_interval: "15s", tests }),
    );
    assert.match(output, /SUCCESS/);
  });
});

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const PROMQL_WORDS = new Set([
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "by",
    "without",
    "on",
    "ignoring",
    "and",
    "or",
    "unless",
    "rate",
    "increase",
    "irate",
    "deriv",
    "delta",
    "time",
    "histogram_quantile",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "offset",
    "bool",
    "group_left",
    "group_right",
    "abs",
    "clamp_min",
    "clamp_max",
  ]);
  const stripped = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "");
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word));
}

describe("the Grafana dashboards", () => {
  const queries = DASHBOARDS.flatMap((d) =>
    d.panels.flatMap((p) =>
      (p["targets"] as { expr: string }[]).map((t) => ({
        dashboard: d.uid,
        panel: String(p["title"]),
        expr: t.expr,
      })),
    ),
  );

  it("are valid JSON with unique panel ids and titles", () => {
    for (const dashboard of DASHBOARDS) {
      const parsed = JSON.parse(JSON.stringify(dashboard)) as { panels: { id: number; title: string }[] };
      assert.equal(
        new Set(parsed.panels.map((p) => p.id)).size,
        parsed.panels.length,
        `${dashboard.uid} panel ids`,
      );
      assert.equal(
        new Set(parsed.panels.map((p) => p.title)).size,
        parsed.panels.length,
        `${dashboard.uid} panel titles`,
      );
    }
    assert.deepEqual(
      DASHBOARDS.map((d) => d.uid),
      ["tidbstack-overview", "tidbstack-tidb"],
    );
  });

  it("every query parses as PromQL (checked by promtool)", async () => {
    const dir = workDir();
    const rules = {
      groups: [
        {
          name: "dashboard-queries",
          rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })),
        },
      ],
    };
    assert.match(
      await promtool("check", "rules", writeJson(dir, "dashboards.yml", rules)),
      new RegExp(`SUCCESS: ${queries.length} rules found`),
    );
  });

  it("every metric a dashboard or an alert uses is registered by the API or the consumer, recorded by a rule, or a listed upstream metric", async () => {
    const registered = new Set<string>();
    for (const registry of [createApiMetrics().registry, createConsumerMetrics().registry]) {
      for (const metric of await registry.getMetricsAsJSON()) {
        registered.add(metric.name);
        if (String(metric.type) === "histogram")
          for (const suffix of ["_bucket", "_sum", "_count"]) registered.add(`${metric.name}${suffix}`);
      }
    }
    const rules = alertRules().groups.flatMap((g) => g.rules);
    const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));
    const known = new Set([...registered, ...recorded, ...UPSTREAM_METRICS]);
    const used = [
      ...queries.map((q) => ({ where: `${q.dashboard} / ${q.panel}`, expr: q.expr })),
      ...rules.map((r) => ({ where: r.alert ?? r.record ?? "", expr: r.expr })),
    ];
    for (const { where, expr } of used) {
      for (const name of metricNames(expr))
        assert.ok(known.has(name), `${where} uses ${name}, which nothing exports`);
    }
    assert.ok(used.length > 20);
  });
});
