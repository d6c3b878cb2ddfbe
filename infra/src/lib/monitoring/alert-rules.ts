/**
 * The stack's alert rules, written for its own services and the upstream metrics that matter here. Every
 * alert has a summary and a runbook link to a section of the README's operations runbook. JSON is valid
 * YAML: the rule file is this object serialised.
 */

/** The API's availability objective: 99.9% of requests answered without a 5xx. */
export const API_SLO = 0.999;
/**
 * The share of requests allowed to fail, 0.001. `1 - 0.999` is 0.0010000000000000009 in binary floating
 * point, which would be written into the rules as such: rounded to the SLO's own precision.
 */
export const ERROR_BUDGET = Number((1 - API_SLO).toFixed(6));
const RUNBOOK = "README.md#";

/** Requests that count for the SLO: real traffic, not probes and scrapes. */
const SLI_SELECTOR = 'job="api",route!~"/health|/ready|/metrics"';

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

const alert = (
  name: string,
  expr: string,
  options: { for: string; severity: "page" | "ticket"; summary: string; runbook: string },
): Rule => ({
  alert: name,
  expr,
  for: options.for,
  labels: { severity: options.severity },
  annotations: { summary: options.summary, runbook: `${RUNBOOK}${options.runbook}` },
});

/** API error ratio over each window the burn-rate alerts use. */
const errorRatioRules: Rule[] = ["5m", "30m", "1h", "6h"].map((window) => ({
  record: `api:request_errors:ratio_rate${window}`,
  expr: `sum(rate(http_requests_total{${SLI_SELECTOR},status=~"5.."}[${window}])) / sum(rate(http_requests_total{${SLI_SELECTOR}}[${window}]))`,
}));

export function alertRules(): { groups: { name: string; rules: Rule[] }[] } {
  return {
    groups: [
      { name: "tidbstack-recording", rules: errorRatioRules },
      {
        name: "tidbstack-alerts",
        rules: [
          alert("TargetDown", "up == 0", {
            for: "2m",
            severity: "page",
            summary:
              "{{ $labels.job }} target {{ $labels.instance }} has not answered a scrape for 2 minutes",
            runbook: "a-target-is-down",
          }),
          // Multi-window burn rates (Google SRE workbook): 2% of a 30-day budget in an hour pages; 5% in six hours opens a ticket.
          alert(
            "ApiErrorBudgetFastBurn",
            `api:request_errors:ratio_rate1h > (14.4 * ${ERROR_BUDGET}) and api:request_errors:ratio_rate5m > (14.4 * ${ERROR_BUDGET})`,
            {
              for: "2m",
              severity: "page",
              summary:
                "The API is burning its 99.9% availability budget 14x too fast (5xx ratio {{ $value | humanizePercentage }})",
              runbook: "the-api-answers-503",
            },
          ),
          alert(
            "ApiErrorBudgetSlowBurn",
            `api:request_errors:ratio_rate6h > (6 * ${ERROR_BUDGET}) and api:request_errors:ratio_rate30m > (6 * ${ERROR_BUDGET})`,
            {
              for: "15m",
              severity: "ticket",
              summary:
                "The API is burning its 99.9% availability budget 6x too fast (5xx ratio {{ $value | humanizePercentage }})",
              runbook: "the-api-answers-503",
            },
          ),
          alert(
            "LoginLatencyHigh",
            'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="api",route="/login"}[5m]))) > 2',
            {
              for: "10m",
              severity: "ticket",
              summary: "Login p99 latency is {{ $value | humanizeDuration }}: password hashing is saturated",
              runbook: "the-api-answers-503",
            },
          ),
          alert("ChangefeedNotNormal", "max by (changefeed) (ticdc_owner_status) > 0", {
            for: "5m",
            severity: "page",
            summary: "TiCDC changefeed {{ $labels.changefeed }} is not normal (state code {{ $value }})",
            runbook: "a-changefeed-is-stuck-or-failed",
          }),
          alert("TicdcCheckpointLagHigh", "max by (changefeed) (ticdc_owner_checkpoint_ts_lag) > 60", {
            for: "5m",
            severity: "page",
            summary:
              "TiCDC changefeed {{ $labels.changefeed }} checkpoint is {{ $value | humanizeDuration }} behind",
            runbook: "a-changefeed-is-stuck-or-failed",
          }),
          // TiCDC sends watermarks even when nothing changes, so an old one means the pipeline has stalled.
          alert(
            "CdcFreshnessStale",
            'time() - max(cdc_last_watermark_timestamp_seconds{job="consumer"}) > 120',
            {
              for: "5m",
              severity: "page",
              summary:
                "The consumer's newest TiCDC watermark is {{ $value | humanizeDuration }} old: downstream is stale",
              runbook: "a-changefeed-is-stuck-or-failed",
            },
          ),
          // Per group: each group reads the whole topic, so two groups' lags added together mean nothing.
          alert(
            "ConsumerLagGrowing",
            'sum by (group) (cdc_consumer_group_lag_messages{job="consumer"}) > 1000 and deriv(sum by (group) (cdc_consumer_group_lag_messages{job="consumer"})[15m:1m]) > 0',
            {
              for: "10m",
              severity: "ticket",
              summary:
                "Consumer group {{ $labels.group }} is {{ $value }} messages behind and falling further behind",
              runbook: "the-consumer-falls-behind",
            },
          ),
          alert("DlqMessages", 'sum(increase(cdc_dlq_messages_total{job="consumer"}[10m])) > 0', {
            for: "0m",
            severity: "ticket",
            summary:
              'About {{ $value | printf "%.0f" }} message(s) went to the dead-letter topic in the last 10 minutes',
            runbook: "messages-in-the-dlq",
          }),
          alert(
            "TikvStoreDown",
            'sum(pd_cluster_status{job="pd",type=~"store_down_count|store_disconnected_count"}) > 0',
            {
              for: "1m",
              severity: "page",
              summary: "PD reports {{ $value }} TiKV store(s) down or disconnected",
              runbook: "tikv-wont-start",
            },
          ),
        ],
      },
    ],
  };
}
